"""The booking path as containers built from services/<svc>/Dockerfile: event-catalog,
booking-service and booking-consumer on the sandbox network, talking to the Postgres and Kafka
containers by name; the test drives them from the host through their published ports."""

from __future__ import annotations

import uuid
from contextlib import suppress

import pytest
import requests

from sandbox.poll import until
from tests.docker.conftest import need

BOOKING_PATH = ("event-catalog", "booking-service", "booking-consumer")


@pytest.fixture(scope="module")
def services(docker_components):
    from sandbox import components
    from sandbox.components.docker import base

    need(docker_components, "postgres")
    need(docker_components, "kafka")
    any_comp = docker_components["components"]["postgres"]
    comps = [components.load(name, "docker")(any_comp.settings, any_comp.state) for name in BOOKING_PATH]
    missing = [c.image for c in comps if not base.image_present(c.image)]
    if missing:
        pytest.skip(f"service images not built: {', '.join(missing)} (python -m sandbox.images)")
    try:
        for comp in comps:
            comp.preflight()
            comp.prepare()  # migrate in a one-off container
            comp.start()
        for comp in comps:
            comp.wait_healthy(90)
        yield {c.name: c for c in comps}
    finally:
        for comp in comps:
            comp.stop()


def test_browse_book_confirmed_through_containers(services):
    catalog = services["event-catalog"].url
    booking = services["booking-service"].url
    created = requests.post(f"{catalog}/events", json={"name": f"docker-{uuid.uuid4().hex[:6]}", "date": "2027-06-01",
                                                      "venue": "Container Hall", "capacity": 5}, timeout=10)
    assert created.status_code == 201, created.text
    event = created.json()
    listed = requests.get(f"{catalog}/events", params={"name": event["name"]}, timeout=10).json()  # one page: filter
    assert [e["id"] for e in listed] == [event["id"]]
    response = requests.post(f"{booking}/book", json={"event_id": event["id"], "user_id": "docker-u", "ticket_count": 2},
                             headers={"Idempotency-Key": str(uuid.uuid4())}, timeout=10)
    assert response.status_code == 202, response.text
    booking_id = response.json()["booking_id"]
    status = None

    def decided() -> bool:
        nonlocal status
        status = requests.get(f"{booking}/bookings/{booking_id}", timeout=5).json()
        return status.get("status") in ("confirmed", "rejected")

    with suppress(TimeoutError):  # the assertion shows the last status
        until(decided, timeout=60, what=f"booking {booking_id} decided", interval=0.5)
    assert status and status["status"] == "confirmed", status
    assert requests.get(f"{catalog}/events/{event['id']}", timeout=5).json()["tickets_available"] == 3
