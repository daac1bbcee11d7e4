"""Compressed bodies: inflated in bounded steps and capped after inflating (gzip bombs)."""

from __future__ import annotations

import gzip
import tracemalloc
import zlib
from collections.abc import Callable, Iterator

import httpx
import pytest
from prometheus_client import CollectorRegistry

from exporter.errors import PayloadError
from exporter.exposition.self_metrics import SelfMetrics
from exporter.sources.upstream import MAX_BODY_BYTES, UpstreamClient
from tests.support.network import Server, answering

pytestmark = pytest.mark.anyio
MIB = 1024 * 1024
BOMB_BYTES = 256 * MIB
"""What the bomb inflates to: eight times the cap."""
PEAK_LIMIT = 64 * MIB


def upstream(transport: httpx.AsyncBaseTransport | None = None) -> UpstreamClient:
    telemetry = SelfMetrics(CollectorRegistry()).target("livepeer_studio", "default", "default")
    return UpstreamClient(httpx.AsyncClient(transport=transport), telemetry)


def _zeros(total: int, step: int = 4 * MIB) -> Iterator[bytes]:
    block = bytes(step)
    for _ in range(total // step):
        yield block


def _raw_deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return packer.compress(data) + packer.flush()


@pytest.fixture(scope="module")
def bomb() -> bytes:
    """``BOMB_BYTES`` of zeros, gzipped: about 250 KiB on the wire."""
    packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    body = b"".join(packer.compress(block) for block in _zeros(BOMB_BYTES)) + packer.flush()
    assert len(body) < MIB
    return body


async def test_a_gzip_bomb_fails_as_invalid_response_within_bounded_memory(bomb: bytes) -> None:
    """A small gzip body that inflates to 256 MiB fails at the 32 MiB cap, and the poll's
    allocations never peak 64 MiB over where they started."""
    headers = {"content-type": "application/json", "content-encoding": "gzip"}
    with Server(answering("200 OK", bomb, headers)) as server:
        client = upstream()
        tracemalloc.start()
        try:
            tracemalloc.reset_peak()
            before = tracemalloc.get_traced_memory()[0]
            with pytest.raises(PayloadError, match=f"over the {MAX_BODY_BYTES}-byte cap"):
                await client.get("list_sessions", f"http://{server.address}/")
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert peak - before < PEAK_LIMIT, f"peak grew by {(peak - before) / MIB:.0f} MiB"


@pytest.mark.parametrize(
    ("encoding", "pack"),
    [
        ("gzip", gzip.compress),
        ("x-gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", _raw_deflate),
        ("identity", lambda data: data),
        ("deflate, gzip", lambda data: gzip.compress(zlib.compress(data))),
        ("gzip, identity", gzip.compress),
    ],
)
async def test_every_accepted_coding_decodes_exactly(
    encoding: str, pack: Callable[[bytes], bytes]
) -> None:
    """gzip, deflate (zlib-wrapped or raw, as httpx accepts) and identity bodies of several
    inflating steps come back byte for byte."""
    body = b"".join(b'{"id": "%d"},' % n for n in range(300_000))  # about 4 MiB
    packed = pack(body)
    headers = {"content-encoding": encoding}
    with Server(answering("200 OK", packed, headers)) as server:
        response = await upstream().get("list_sessions", f"http://{server.address}/")
    assert response.body == body


async def test_only_the_decodable_codings_are_asked_for() -> None:
    """Requests say ``accept-encoding: gzip, deflate``, whatever httpx could decode."""
    seen: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("accept-encoding"))
        return httpx.Response(200, content=b"[]")

    await upstream(httpx.MockTransport(handler)).get("list_sessions", "http://x/")
    assert seen == ["gzip, deflate"]


@pytest.mark.parametrize(
    ("encoding", "content", "message"),
    [
        ("gzip", b"\x1f\x8b not gzip at all", "undecodable content encoding"),
        ("deflate", b"\xff\xff\xff not deflate", "undecodable content encoding"),
        ("br", b"\x0b\x02\x80[]\x03", "unsupported content encoding"),
        ("gzip, br", gzip.compress(b"[]"), "unsupported content encoding"),
    ],
)
async def test_a_body_that_cannot_be_decoded_is_a_payload_error(
    encoding: str, content: bytes, message: str
) -> None:
    """A corrupt body, or a coding that was not asked for, fails as invalid_response."""
    transport = httpx.MockTransport(
        lambda _: httpx.Response(
            200, stream=httpx.ByteStream(content), headers={"content-encoding": encoding}
        )
    )
    with pytest.raises(PayloadError, match=message) as info:
        await upstream(transport).get("list_sessions", "http://x/")
    assert info.value.reason == "invalid_response"
