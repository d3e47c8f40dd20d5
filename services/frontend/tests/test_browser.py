"""The page in headless Chromium (Debian's /usr/bin/chromium driven by Playwright).

Always: the page loads, a user registers through the form, an ID proof is uploaded, the ticket
Lambda runs on the upload's S3 event, and the ticket link appears and downloads a PDF.
With the booking stack (EVENT_SERVICE_URL + BOOKING_SERVICE_URL): books a ticket and waits for
"confirmed". Screenshots go to $SCREENSHOT_DIR (default: pytest's tmp dir).
"""
from __future__ import annotations

import os
import uuid
from pathlib import Path
from urllib.parse import quote_plus

import pytest
from frontend_testlib import PNG, require_env

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]



@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not found at {CHROMIUM} (apt-get install -y chromium)")
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture()
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"


@pytest.fixture()
def screenshot_dir(tmp_path) -> Path:
    directory = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def test_page_register_upload_and_download_ticket(page, make_frontend, serve, bucket, screenshot_dir, tmp_path):
    import lambda_function

    url = serve(make_frontend(EVENT_SERVICE_URL=os.environ.get("EVENT_SERVICE_URL", "")))
    page.goto(url + "/")
    page.wait_for_selector("body[data-ready=true]")
    assert page.title() == "Ticketing sandbox"
    # selectors only: the page's CSP forbids eval, which string predicates would need
    page.wait_for_selector("#events-message:not(:empty), #events tbody tr")
    page.wait_for_selector("#analytics-message:not(:empty)")

    page.fill("#user-name", "Dorothy Vaughan")
    page.fill("#user-email", f"dv-{uuid.uuid4().hex[:8]}@example.com")
    page.click("#user-form button[type=submit]")
    page.wait_for_selector("#user-result.ok")
    user_id = page.input_value("#book-user")
    assert len(user_id) == 36 and user_id in page.text_content("#user-result")

    booking_id = "browser-" + uuid.uuid4().hex[:12]
    proof = tmp_path / "id-proof.png"
    proof.write_bytes(PNG)
    page.fill("#upload-booking", booking_id)
    page.set_input_files("#upload-file", str(proof))
    page.click("#upload-form button[type=submit]")
    page.wait_for_selector("#upload-result.ok")
    upload_key = page.text_content("#upload-result").split()[-1]
    assert upload_key.startswith(f"uploads/{booking_id}/")

    # what the S3 notification does in the sandbox: run the Lambda on the upload
    record = {"eventName": "ObjectCreated:Put", "eventTime": "2026-11-25T15:00:00Z",
              "s3": {"bucket": {"name": bucket}, "object": {"key": quote_plus(upload_key, safe="/")}}}
    assert lambda_function.lambda_handler({"Records": [record]}, None)["tickets"] == [f"tickets/{booking_id}.pdf"]

    page.wait_for_selector("#ticket-link", timeout=15000)
    with page.expect_download() as download_info:
        page.click("#ticket-link")
    download = download_info.value
    saved = tmp_path / "ticket.pdf"
    download.save_as(saved)
    assert saved.read_bytes().startswith(b"%PDF-")
    page.screenshot(path=str(screenshot_dir / "frontend.png"), full_page=True)


@pytest.mark.integration
def test_page_books_a_ticket(page, make_frontend, serve, screenshot_dir, own_event):
    env = require_env("EVENT_SERVICE_URL", "BOOKING_SERVICE_URL")
    event = own_event(20)
    url = serve(make_frontend(**env, KAFKA_BROKERS=os.environ.get("KAFKA_BROKERS", "")))
    page.goto(url + "/?name=" + quote_plus(event["name"]))  # the page's filter: only this test's event
    page.wait_for_selector("#events tbody tr", timeout=15000)
    page.wait_for_selector("#book-event option:not([disabled])", state="attached", timeout=15000)
    assert page.locator("#events tbody tr").count() == 1
    assert page.input_value("#events-name") == event["name"]

    page.fill("#user-name", "Mary Jackson")
    page.fill("#user-email", f"mj-{uuid.uuid4().hex[:8]}@example.com")
    page.click("#user-form button[type=submit]")
    page.wait_for_selector("#user-result.ok")

    first_open = page.get_attribute("#book-event option:not([disabled])", "value")
    assert first_open == str(event["id"])
    page.select_option("#book-event", first_open)
    page.fill("#book-count", "2")
    page.click("#book-submit")
    page.wait_for_selector("#booking-status.ok, #booking-status.bad", timeout=30000)
    status = page.text_content("#booking-status")
    page.screenshot(path=str(screenshot_dir / "frontend-booked.png"), full_page=True)
    assert "confirmed" in status, status
    booking_id = page.input_value("#upload-booking")
    assert booking_id and booking_id in status
    page.wait_for_selector("#analytics-message:not(:empty)")


@pytest.mark.integration
def test_page_shows_live_analytics(page, make_frontend, serve, screenshot_dir):
    """Window results on a Kafka topic show up in the analytics table (deduplicated)."""
    import json

    brokers = require_env("KAFKA_BROKERS")["KAFKA_BROKERS"]
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    topic = f"test-analytics-browser-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": brokers})
    admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])[topic].result(30)
    try:
        producer = Producer({"bootstrap.servers": brokers})
        for minute, total, count in ((0, 4, 2), (1, 6, 3), (1, 6, 3), (2, 9, 4)):  # (1) delivered twice
            producer.produce(topic, json.dumps({
                "event_id": 1, "window_start": f"2026-11-25T14:0{minute}:00Z",
                "window_end": f"2026-11-25T14:0{minute + 1}:00Z", "total_tickets": total, "booking_count": count}))
        producer.flush(10)
        url = serve(make_frontend(KAFKA_BROKERS=brokers, ANALYTICS_TOPIC=topic))
        page.goto(url + "/")
        page.wait_for_selector("#analytics tbody tr", timeout=20000)
        row = page.locator("#analytics tbody tr").first
        assert row.locator("td").nth(1).text_content() == "14:02:00-14:03:00"
        assert row.locator("td").nth(2).text_content() == "9"
        assert row.locator("td").nth(3).text_content() == "4"
        assert row.locator("td").nth(4).text_content() == "9 6 4"
        page.screenshot(path=str(screenshot_dir / "frontend-analytics.png"), full_page=True)
    finally:
        admin.delete_topics([topic])


@pytest.mark.integration
def test_events_are_one_page_with_a_filter_and_the_booking_form_is_on_top(page, make_frontend, serve, screenshot_dir,
                                                                           own_event):
    """Many events: the page lists one page of them (next/previous links), the name filter narrows
    it, and the booking form is above the list, in the first screen."""
    env = require_env("EVENT_SERVICE_URL", "BOOKING_SERVICE_URL")
    made = [own_event(3) for _ in range(3)]
    url = serve(make_frontend(**env))
    page.goto(url + "/?limit=2")
    page.wait_for_selector("#events tbody tr", timeout=15000)
    assert page.locator("#events tbody tr").count() == 2
    page.wait_for_selector("#events-next:not([hidden])")
    assert page.locator("#events-prev").is_hidden()
    box = page.locator("#book-form").bounding_box()
    assert box and box["y"] + box["height"] <= 900, box  # within the first 900 px screen
    assert page.locator("#book-form").bounding_box()["y"] < page.locator("#events").bounding_box()["y"]
    rows = page.locator("#events tbody tr")
    first_ids = [rows.nth(i).get_attribute("data-event-id") for i in range(rows.count())]
    page.click("#events-next")
    page.wait_for_selector("#events-prev:not([hidden])", timeout=15000)
    page.wait_for_selector("#events tbody tr", timeout=15000)
    rows = page.locator("#events tbody tr")
    assert not {rows.nth(i).get_attribute("data-event-id") for i in range(rows.count())} & set(first_ids)
    assert "cursor=" in page.url
    page.fill("#events-name", made[1]["name"])
    page.click("#events-filter button[type=submit]")
    page.wait_for_selector(f'#events tbody tr[data-event-id="{made[1]["id"]}"]', timeout=15000)
    assert page.locator("#events tbody tr").count() == 1
    assert page.locator("#events-next").is_hidden() and page.locator("#events-prev").is_hidden()
    page.screenshot(path=str(screenshot_dir / "frontend-filtered.png"), full_page=True)
