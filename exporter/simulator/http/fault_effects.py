"""How a :class:`~.faults.Fault` changes one exchange: before the answer, or the body itself.

The shared request prelude (:mod:`.fake_api`) calls :func:`before` once a request is routed
(latency, hangs, dropped connections, error statuses, all ahead of authentication, as an
edge proxy or a rate limiter would answer); both apps call :func:`send_json` for their 200
bodies, which applies the body
faults: cut-short JSON, the wrong top-level type, one malformed record among the good
ones (added, so every real record is still there), and oversized or endless bodies.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import msgspec

from .asgi import Exchange
from .faults import Fault, FaultAction

__all__ = ["JsonBody", "before", "encode_json", "send_json"]

_CHUNK = 64 * 1024


def encode_json(value: object) -> bytes:
    """Compact UTF-8 JSON, as Express and protobuf JSON write it."""
    return msgspec.json.encode(value)


@dataclass(slots=True)
class JsonBody:
    """A 200 body: ``payload[records_key]`` (or the payload itself) holds the records.

    ``records_key`` None means the payload is the record list; ``""`` means a single
    object with no list, which a malformed-record fault replaces wholesale.
    """

    payload: dict[str, object] | list[object]
    records_key: str | None
    malformed: dict[str, object]
    content_type: str = "application/json"


async def before(
    exchange: Exchange, fault: Fault, error: Callable[[int], tuple[bytes, str]]
) -> bool:
    """Apply the part of ``fault`` that comes before the answer; False if it was the answer.

    ``error(status)`` gives the API's usual error body and content type for a status.
    """
    if fault.latency and await exchange.pause(fault.latency) != "elapsed":
        await exchange.abandon()
        return False
    action = fault.action
    if action is FaultAction.HANG:
        await exchange.pause(None)
        await exchange.abandon()
        return False
    if action in (FaultAction.RESET, FaultAction.CLOSE):
        await exchange.drop(reset=action is FaultAction.RESET)
        return False
    if action is FaultAction.STATUS and fault.status is not None:
        body, content_type = error(fault.status)
        if fault.body is not None:
            body = fault.body
        headers = [("content-type", content_type), *fault.headers]
        if fault.retry_after is not None:
            headers.append(("retry-after", _retry_after(fault.retry_after)))
        await exchange.respond(fault.status, body, headers)
        return False
    return True


def _retry_after(value: int | float | str) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _records(body: JsonBody) -> list[object]:
    """The (mutable) record list of ``body``, created if the key was omitted as empty."""
    if isinstance(body.payload, list):
        return body.payload
    records = body.payload.setdefault(body.records_key or "records", [])
    return records if isinstance(records, list) else []


async def send_json(
    exchange: Exchange,
    body: JsonBody,
    fault: Fault | None,
    headers: tuple[tuple[str, str], ...] = (),
) -> None:
    """Send a 200 JSON body, distorted as ``fault`` says."""
    all_headers = [("content-type", body.content_type), *headers]
    action = fault.action if fault is not None else None
    if action is FaultAction.MALFORMED_RECORD:
        if body.records_key == "":
            body.payload = dict(body.malformed)
        else:
            records = _records(body)
            records.insert(len(records) // 2, body.malformed)
    if action is FaultAction.WRONG_SHAPE:
        payload: object = (
            [body.payload] if isinstance(body.payload, dict) else {"data": body.payload}
        )
        await exchange.respond(200, encode_json(payload), all_headers)
        return
    encoded = encode_json(body.payload)
    if action is FaultAction.INVALID_JSON:
        await exchange.respond(200, encoded[: max(1, len(encoded) // 2)], all_headers)
        return
    if action is FaultAction.OVERSIZED and fault is not None:
        chunks, length = _oversized(body, fault.oversized_bytes)
        await exchange.stream(200, chunks, all_headers, content_length=length)
        return
    await exchange.respond(200, encoded, all_headers)


def _oversized(body: JsonBody, size: int | None) -> tuple[Iterator[bytes], int | None]:
    """Valid JSON (when finite) padded with copies of a record up to at least ``size`` bytes.

    The records array is written out, then more copies of its first record (or of a
    padding object) follow; the closing brackets come only once the size is reached.
    """
    marker = "\x00records\x00"
    payload: object
    records: list[object] = []
    if body.records_key is None:
        payload, records = marker, list(_records(body))
    elif isinstance(body.payload, dict):
        key = body.records_key or "padding"
        records = list(_records(body)) if body.records_key else []
        payload = {**body.payload, key: marker}
    else:  # pragma: no cover  # JsonBody pairs a records key with a dict payload
        raise TypeError("a records key needs a dict payload")
    prefix, suffix = encode_json(payload).split(encode_json(marker), 1)
    items = [encode_json(r) for r in records] or [encode_json({"padding": "x" * 1000})]
    head = prefix + b"[" + b",".join(items)
    tail = b"]" + suffix
    chunk = (b"," + items[0]) * max(1, _CHUNK // (len(items[0]) + 1))
    if size is None:

        def endless() -> Iterator[bytes]:
            yield head
            while True:
                yield chunk

        return endless(), None
    count = -(-max(0, size - len(head) - len(tail)) // len(chunk))

    def finite() -> Iterator[bytes]:
        yield head
        for _ in range(count):
            yield chunk
        yield tail

    return finite(), len(head) + count * len(chunk) + len(tail)
