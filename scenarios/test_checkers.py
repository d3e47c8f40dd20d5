"""The checkers themselves (pure, no servers): a checker that cannot fail proves nothing."""

import pytest

from scenarios.lib.checkers import check_queue, error_shape_problem, expected_windows

pytestmark = [pytest.mark.validated("sandbox"), pytest.mark.pure]


def _a(bid, accepted=True, ids=None):
    return {"booking_id": bid, "accepted": accepted, "booking_ids": ids or [bid]}


def test_clean_history_is_valid():
    rows = [("a", "u", 2, "confirmed", None), ("b", "u", 1, "confirmed", None)]
    r = check_queue([_a("a"), _a("b")], rows, capacity=10, tickets_available=7)
    assert r.valid and (r.lost, r.duplicated, r.unexpected, r.unseen_final) == (0, 0, 0, 0)


def test_lost_duplicated_unexpected_and_oversell_are_counted():
    rows = [("a", "u", 1, "confirmed", None), ("a", "u", 1, "confirmed", None), ("z", "u", 1, "confirmed", None)]
    attempts = [_a("a"), _a("b"), _a("c", ids=["c", "c2"]), _a("d", accepted=False)]
    r = check_queue(attempts, rows, capacity=10, tickets_available=6,
                    status_messages=[{"booking_id": "a", "status": "confirmed"},
                                     {"booking_id": "a", "status": "rejected"}])
    assert r.lost == 2 and r.unexpected == 1 and r.not_accepted == 1
    assert r.duplicated == 1 + 1 + 1  # duplicate row, key with two ids, conflicting decision
    assert r.seat_mismatch == 1 and not r.valid


def test_unseen_series_keeps_the_peak():
    r = check_queue([_a("a")], [("a", "u", 1, "confirmed", None)], 5, 4, unseen_series=[0, 3, 1])
    assert r.unseen_max == 3 and r.unseen_final == 0 and r.valid


def test_expected_windows_are_tumbling():
    w = expected_windows([{"event_id": 1, "timestamp": 19.9, "ticket_count": 2},
                          {"event_id": 1, "timestamp": 10.0, "ticket_count": 3},
                          {"event_id": 1, "timestamp": 20.0, "ticket_count": 1}], 10)
    assert w == {(1, 10): (5, 2), (1, 20): (1, 1)}


def test_error_shape():
    ok = {"error": "database unavailable, retry", "field": None, "retryable": True}
    assert error_shape_problem(503, "application/json", ok) is None
    assert error_shape_problem(503, "application/json", {**ok, "booking_id": "b"}) is None
    assert error_shape_problem(400, "application/json", {"error": "x", "field": "body", "retryable": False}) is None
    assert "Content-Type" in error_shape_problem(503, "text/html", "<html>503</html>")
    assert "not the error shape" in error_shape_problem(503, "application/json", {"error": "x", "field": None})
    assert "unexpected keys" in error_shape_problem(503, "application/json", {**ok, "trace": "..."})
    assert "wrong types" in error_shape_problem(503, "application/json", {**ok, "retryable": "yes"})
    assert "not retryable" in error_shape_problem(504, "application/json", {**ok, "retryable": False})
