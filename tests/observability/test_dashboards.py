"""Every dashboard of gitops/monitoring/dashboards, as the sandbox's Perses serves it, opened in
headless Chromium (Debian's /usr/bin/chromium driven by Playwright) after a short booking load:
every panel draws a chart with at least one series in its legend. (ECharts paints "No data" on the
canvas, not in the page's text: a panel's series are counted in its legend table, which every
panel of these dashboards has.) Screenshots go to reports/dashboards/<dashboard>.png, the last
try's, pass or fail."""

from __future__ import annotations

import io
import os
import time
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import sync_playwright

from sandbox.components.observability.dashboards import PROJECT, dashboard_names
from sandbox.paths import PROJECT_ROOT

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOTS = PROJECT_ROOT / "reports" / "dashboards"
# a panel's state as the page shows it: its title, a chart drawn (ECharts' canvas), its legend's series
PANELS_JS = """() => Array.from(document.querySelectorAll('section[data-testid=panel]')).map(panel => ({
    title: (panel.querySelector('h6') || {}).textContent || '?',
    chart: panel.querySelector('canvas') !== null,
    series: panel.querySelectorAll('tbody tr').length,
    text: panel.innerText}))"""


def _tiny_pdf() -> bytes:
    from pypdf import PdfWriter

    out = io.BytesIO()
    writer = PdfWriter()
    writer.add_blank_page(width=72, height=72)
    writer.write(out)
    return out.getvalue()


@pytest.fixture(scope="module")
def booking_load(env):
    """Bookings confirmed and rejected (an event with fewer seats than asked for) and an ID-proof
    upload (the ticket Lambda's invocation); what it made is removed afterwards."""
    from scenarios.lib.cleanup import remove_made
    from scenarios.lib.clients import Api

    api = Api(env)
    tag = uuid.uuid4().hex[:8]
    event = api.create_event(3, f"Dashboards {tag}")
    user = api.post("/api/users", json={"name": "Dash Board", "email": f"dash.{tag}@example.com"}).json()
    attempts = [api.book({"event_id": event["id"], "user_id": user["user_id"], "ticket_count": 1}) for _ in range(5)]
    assert all(a.accepted for a in attempts), [a.statuses for a in attempts]
    decided = [api.wait_final(a.booking_id) for a in attempts]
    confirmed = [a for a, d in zip(attempts, decided, strict=True) if d and d["status"] == "confirmed"]
    assert len(confirmed) == 3 and sum(1 for d in decided if d and d["status"] == "rejected") == 2, decided
    upload = api.post("/api/upload", data={"booking_id": confirmed[0].booking_id, "user_id": user["user_id"]},
                      files={"file": ("id-proof.pdf", io.BytesIO(_tiny_pdf()), "application/pdf")})
    assert upload.status_code == 201, upload.text
    made = {"events": [event["id"]], "users": [user], "s3_bookings": [confirmed[0].booking_id]}
    yield
    remove_made(env, made)


@pytest.fixture(scope="module")
def browser(env):
    if "DASHBOARDS_URL" not in env:
        pytest.fail("no DASHBOARDS_URL in `sandbox env`: Perses is not running (`sandbox status perses`)")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM} (fix: apt-get install -y chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield browser
        browser.close()


def _problems(panels: list[dict]) -> list[str]:
    problems = []
    for panel in panels:
        if not panel["chart"]:
            problems.append(f"{panel['title']}: no chart drawn ({' '.join(panel['text'].split()[-6:])})")
        elif panel["series"] == 0:
            problems.append(f"{panel['title']}: no data")
    return problems


@pytest.mark.parametrize("dashboard", dashboard_names())
def test_every_panel_has_data(dashboard, env, booking_load, browser):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1600, "height": 2000})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    url = f"{env['DASHBOARDS_URL']}/projects/{PROJECT}/dashboards/{dashboard}?start=15m&refresh=0s"
    # rates need two scrapes of the load's counters: wait for every panel to draw its series,
    # reloading (new queries) every 30 s, within 2 min
    deadline, problems, panels = time.monotonic() + 120, ["not loaded"], []
    while problems and time.monotonic() < deadline:
        page.goto(url, wait_until="networkidle")
        try:
            page.wait_for_function(f"() => {{ const panels = ({PANELS_JS})(); return panels.length > 0 && "
                                   "panels.every(p => p.chart && p.series > 0); }", timeout=30_000, polling=500)
        except PlaywrightTimeout:  # the screenshot and the problems below say which panels have none
            pass
        panels = page.evaluate(PANELS_JS)
        problems = _problems(panels) if panels else ["no panels on the page"]
    page.screenshot(path=str(SCREENSHOTS / f"{dashboard}.png"), full_page=True)
    page.close()
    assert errors == [], f"JavaScript errors on {url}: {errors}"
    assert not problems, f"{dashboard} ({url}): {problems}; screenshot {SCREENSHOTS / dashboard}.png"
    assert len(panels) == len(_spec(dashboard)["panels"]), "a panel of the dashboard is not on the page"


def _spec(dashboard: str) -> dict:
    import yaml

    from sandbox.components.observability.dashboards import DASHBOARDS

    return next(spec for path in DASHBOARDS.glob("*.yaml")
                if (spec := yaml.safe_load(path.read_text()))["metadata"]["name"] == dashboard)["spec"]
