"""The request log: bounded, newest last, with case-insensitive header lookup."""

from __future__ import annotations

from exporter.simulator import RecordedRequest, RequestLog


def test_the_request_log_keeps_only_the_newest_records() -> None:
    """A bounded log drops its oldest records first, so long demo runs stay small."""
    log = RequestLog(maxlen=3)
    for i in range(5):
        log.append(
            RecordedRequest(
                api="livekit", endpoint="livekit.list", method="GET", raw_path=f"/{i}",
                query_string="", headers=(("x-n", str(i)),), received_at=float(i),
            )
        )  # fmt: skip
    assert [r.raw_path for r in log] == ["/2", "/3", "/4"]
    assert len(log) == 3
    assert log.records[-1].header("X-N") == "4"
    log.clear()
    assert log.for_endpoint("livekit.list") == []
