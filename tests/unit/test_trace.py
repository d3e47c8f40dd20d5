"""`sandbox trace`'s pure parts: what an id is, and the timeline assembled from LogsQL rows and the
systems' records. The rows and records in trace_rows.json were recorded from a real run (a booking
through the frontend, then an upload for it) on a private sandbox, as VictoriaLogs answered them."""

import json
import time
from dataclasses import replace
from pathlib import Path

import pytest

from sandbox.observability.trace import (
    BOOKING,
    REQUEST,
    S3_KEY,
    BookingFacts,
    Hop,
    Trace,
    UploadFacts,
    booking_path,
    id_kinds,
    invocations,
    normalise,
    request_path,
    row_time,
    timeline,
    upload_path,
)

RECORDED = json.loads((Path(__file__).with_name("trace_rows.json")).read_text())
IDS, ROWS, FACTS = RECORDED["ids"], RECORDED["rows"], RECORDED["facts"]
BOOKING_ID, UPLOAD_KEY = IDS["booking_id"], IDS["upload_key"]


@pytest.fixture(autouse=True)
def utc(monkeypatch):
    """The Lambda log's stamps are the machine's local time; the recording machine ran on UTC."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def booking_facts(**changes) -> BookingFacts:
    facts = BookingFacts(request=FACTS["request"], booking=FACTS["booking"], outbox=FACTS["outbox"],
                         message=FACTS["message"], window=FACTS["window"], window_seconds=10)
    return replace(facts, **changes)


def trace_of(kind, ident, path) -> Trace:
    return Trace(ident, kind, timeline(path.hops), path.missing)


def test_an_id_is_a_booking_id_a_request_id_or_an_s3_key():
    assert id_kinds(BOOKING_ID) == [BOOKING, REQUEST]  # a client may send a UUID as its request id
    assert id_kinds(BOOKING_ID.upper()) == [BOOKING, REQUEST] and normalise(BOOKING_ID.upper(), BOOKING) == BOOKING_ID
    assert id_kinds("9a7417af219641b4a568a79d64e42ead") == [REQUEST]  # svc_common's own: uuid4().hex
    assert id_kinds("trace-7309ae3a2842") == [REQUEST]
    assert id_kinds(UPLOAD_KEY) == [S3_KEY] and id_kinds(f"tickets/{BOOKING_ID}.pdf") == [S3_KEY]
    assert id_kinds(f"s3://raw-data/{UPLOAD_KEY}") == [S3_KEY]
    assert normalise(f"s3://raw-data/{UPLOAD_KEY}", S3_KEY) == UPLOAD_KEY
    for bad in ("", "has space", "x" * 129, "semi;colon"):
        with pytest.raises(ValueError):
            id_kinds(bad)


def test_a_row_is_timed_by_its_own_stamp_not_by_when_the_shipper_read_it():
    access = next(r for r in ROWS["booking"] if r["component"] == "frontend" and r["path"] == "/api/book")
    assert row_time(access) == pytest.approx(row_time({"_time": access["ts"].replace("+00:00", "Z")}))
    end = next(r for r in ROWS["upload"] if " END " in r["_msg"])
    assert abs(row_time(end) - row_time({"_time": end["_time"]})) > 0.1  # shipped ~0.2 s after it was written
    assert time.strftime("%H:%M:%S", time.gmtime(row_time(end))) == end["_msg"][11:19]


def test_a_booking_id_gives_the_whole_path_in_time_order():
    trace = trace_of(BOOKING, BOOKING_ID, booking_path(BOOKING_ID, ROWS["booking"], booking_facts(), now=2e9))
    assert [(h.component, h.source) for h in trace.hops] == [
        ("frontend", "logs"), ("booking-service", "logs"), ("kafka", "kafka"), ("postgres", "postgres"),
        ("booking-consumer", "logs"), ("kafka", "postgres"), ("analytics", "kafka")]
    assert trace.complete and trace.stopped_at is None
    offsets = [trace.offset_ms(h) for h in trace.hops]
    assert offsets[0] == 0 and offsets == sorted(offsets)
    service = trace.hops[1]
    assert "published to ticket-bookings partition 1 offset 0" in service.what and service.status == "202"
    assert service.pod == "booking-service-0"
    assert "x-request-id trace-7309ae3a2842" in trace.hops[2].what
    assert "read ticket-bookings 1:0-0" in trace.hops[4].what and "outside" not in trace.hops[4].what
    assert trace.hops[5].what.startswith("booking-status: status confirmed")
    assert "window 2026-12-02T09:23:40Z .. 2026-12-02T09:23:50Z of event 6: 1 booking(s), 2 ticket(s)" in trace.hops[6].what
    # an upload names the booking too, but is no hop of the booking's own path
    assert not any("/api/upload" in h.what for h in trace.hops)
    as_json = trace.to_json()
    assert set(as_json) == {"id", "kind", "hops", "complete", "stopped_at", "last_lines"}
    assert as_json["complete"] is True and as_json["hops"][0]["offset_ms"] == 0.0
    assert set(as_json["hops"][0]) == {"component", "time", "offset_ms", "what", "status", "ok", "pod", "source"}


def test_a_booking_the_consumer_never_took_stops_at_the_consumer():
    rows = [r for r in ROWS["booking"] if r["component"] != "booking-consumer"]
    facts = booking_facts(booking=None, outbox=[], window=None)
    now = FACTS["request"]["requested_at"] + 2  # its window has not closed yet
    trace = trace_of(BOOKING, BOOKING_ID, booking_path(BOOKING_ID, rows, facts, now=now))
    assert not trace.complete
    assert trace.stopped_at.component == "booking-consumer" and "batch committed" in trace.stopped_at.expected
    assert [h.component for h in trace.hops] == ["frontend", "booking-service", "kafka"]
    assert [m.component for m in trace.missing] == ["booking-consumer", "booking-consumer", "analytics"]
    assert "not closed yet" in trace.missing[-1].expected
    assert trace.to_json()["stopped_at"] == {"component": "booking-consumer", "expected": trace.missing[0].expected,
                                             "reason": "missing"}


def test_a_decided_booking_whose_window_is_overdue_stops_at_analytics():
    trace = trace_of(BOOKING, BOOKING_ID, booking_path(BOOKING_ID, ROWS["booking"], booking_facts(window=None),
                                                       now=FACTS["request"]["requested_at"] + 60))
    assert trace.stopped_at.component == "analytics" and "closed" in trace.stopped_at.expected


def test_a_booking_service_503_is_where_the_path_failed():
    failed = []
    for row in ROWS["request"]:
        row = {**row, "status": "503"}
        for key in ("partition", "offset", "replayed"):
            row.pop(key, None)
        failed.append(row)
    path, follow = request_path(IDS["request_id"], failed)
    trace = trace_of(REQUEST, IDS["request_id"], path)
    assert follow == []  # no accepted booking to follow
    assert trace.stopped_at.reason == "failed" and trace.stopped_at.component == "booking-service"


def test_a_request_id_follows_its_access_lines_to_the_booking():
    path, follow = request_path(IDS["request_id"], ROWS["request"])
    assert [h.component for h in timeline(path.hops)] == ["frontend", "booking-service"] and not path.missing
    assert follow == [(BOOKING, BOOKING_ID)]
    # the frontend answered 202 but booking-service's line never came: that hop is missing
    path, _ = request_path(IDS["request_id"], [r for r in ROWS["request"] if r["component"] == "frontend"])
    assert [m.component for m in path.missing] == ["booking-service"]


def test_an_upload_request_follows_to_the_upload():
    path, follow = request_path(IDS["upload_request_id"], ROWS["upload_request"])
    assert {h.component for h in path.hops} == {"frontend", "booking-service", "event-catalog"}
    assert follow == [(S3_KEY, UPLOAD_KEY)]


def upload_facts(**changes) -> UploadFacts:
    return replace(UploadFacts(upload=FACTS["upload"], tickets={FACTS["ticket"]["key"]: FACTS["ticket"]}), **changes)


def test_an_upload_key_gives_put_notification_invocation_and_the_pdf():
    trace = trace_of(S3_KEY, UPLOAD_KEY, upload_path(UPLOAD_KEY, ROWS["upload"], upload_facts()))
    assert [h.component for h in trace.hops] == ["frontend", "s3", "lambda", "lambda", "s3", "lambda"]
    assert trace.complete
    put, invoked, processed, pdf, finished = trace.hops[1:]
    assert "request-id upload-2a877aa2ab93" in put.what and f"booking-id {BOOKING_ID}" in put.what
    assert invoked.what.startswith("S3 notification ObjectCreated:Put: ticketing-sandbox-ticket-generator invoked")
    assert invoked.time == pytest.approx(put.time, abs=0.01)  # the event's time and the invoke's start
    assert processed.status == "created" and f"tickets/{BOOKING_ID}.pdf" in processed.what
    assert pdf.what.startswith(f"tickets/{BOOKING_ID}.pdf (1819 bytes") and finished.status == "ok"
    assert "568 ms, init 3658 ms" in finished.what
    assert trace.offset_ms(finished) == pytest.approx(4257, abs=2)


def test_an_upload_no_lambda_took_stops_at_the_lambda_log():
    rows = [r for r in ROWS["upload"] if r["component"] != "lambda"]
    trace = trace_of(S3_KEY, UPLOAD_KEY, upload_path(UPLOAD_KEY, rows, upload_facts()))
    assert trace.stopped_at.component == "lambda" and "notification" in trace.stopped_at.expected


def test_a_failed_invocation_is_where_it_stopped_unless_a_retry_passed():
    def with_status(status):
        return [{**r, "_msg": r["_msg"].replace("Status: ok", f"Status: {status}")} for r in ROWS["upload"]]

    trace = trace_of(S3_KEY, UPLOAD_KEY, upload_path(UPLOAD_KEY, with_status("error"), upload_facts()))
    assert trace.stopped_at.component == "lambda" and trace.stopped_at.reason == "failed"
    retried = trace.hops + [Hop("lambda", trace.hops[-1].time + 1, "RequestId x finished: 5 ms", "ok")]
    assert Trace(UPLOAD_KEY, S3_KEY, retried, []).complete


def test_lambda_lines_are_read_into_invocations_whatever_their_order():
    lines = [r for r in ROWS["upload"] if r["component"] == "lambda"]
    (inv,) = invocations(reversed(lines)).values()
    assert inv.function == "ticketing-sandbox-ticket-generator" and inv.how == "Event from S3"
    assert (inv.duration_ms, inv.init_ms, inv.status) == (568, 3658, "ok")
    assert inv.event["Records"][0]["s3"]["object"]["key"] == UPLOAD_KEY
    assert [v["upload_request_id"] for _, v in inv.processed] == ["upload-2a877aa2ab93"]


def test_timeless_hops_stay_after_their_predecessor():
    hops = [Hop("a", 2.0, "", ""), Hop("b", None, "", ""), Hop("c", 1.0, "", "")]
    assert [h.component for h in timeline(hops)] == ["c", "a", "b"]


def test_last_lines_say_level_message_and_fields_without_the_shippers_own():
    from sandbox.observability.trace import _line_text

    batch = next(r for r in ROWS["booking"] if r["component"] == "booking-consumer")
    plain = ROWS["last_lines_booking_consumer"][1]  # a traceback's line on stderr
    assert _line_text(batch).startswith(f"INFO batch committed {{\"booking_ids\": \"{BOOKING_ID}\"")
    assert _line_text(plain) == "ConnectionResetError: [Errno 104] Connection reset by peer"
    for text in (_line_text(batch), _line_text(plain)):
        assert "scope.name" not in text and "severity" not in text and "_stream" not in text


def test_trace_says_how_to_start_the_logs_store_and_exits_2(monkeypatch):
    import socket

    from click.testing import CliRunner

    from sandbox.cli import main
    from sandbox.settings import settings

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("SANDBOX_OBSERVABILITY__PORTS__LOGS", str(port))
    settings.cache_clear()
    try:
        result = CliRunner().invoke(main, ["trace", BOOKING_ID, "--wait", "0"])
    finally:
        settings.cache_clear()
    assert result.exit_code == 2, result.output
    assert "does not answer" in result.output and "sandbox up --only victoria-logs,log-shipper" in result.output
    assert "Traceback" not in result.output


def test_an_invocation_ends_after_the_lines_written_inside_it():
    """Its END line stamped a moment before a line of its own (clocks rounded apart under load):
    the PDF and the end stay after the processing."""
    rows = [dict(r) for r in ROWS["upload"]]
    end = next(r for r in rows if " END " in r["_msg"])
    end["_msg"] = end["_msg"].replace("09:23:47.417 END", "09:23:47.415 END")
    trace = trace_of(S3_KEY, UPLOAD_KEY, upload_path(UPLOAD_KEY, rows, upload_facts()))
    assert [h.component for h in trace.hops] == ["frontend", "s3", "lambda", "lambda", "s3", "lambda"]
    assert trace.hops[-1].what.startswith("RequestId ") and trace.hops[-1].time >= trace.hops[3].time
