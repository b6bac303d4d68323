"""Reports and dashboards in a real browser: a manager filters the report, sees the
chart and its table, exports a CSV (the file checked), follows a chart point to the chats
behind it and on to the read-only interaction window, builds a dashboard, reloads and
finds it; a CSR sees only their own figures and gets 403 on everything else."""

import csv
import io
import re
import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.pages import log_in, shot
from tests.reports.conftest import History, build_history

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

TIMEOUT_MS = 15_000
SHOTS = Path(tempfile.gettempdir()) / "reports"


@pytest.fixture
def history(transactional_db, portal_server) -> History:
    return build_history()


def log_in_as(page: Page, url: str, username: str) -> None:
    page.context.clear_cookies()
    log_in(page, url, username, "pass-word-123")


def filter_day(page: Page, queue: str | None = None) -> None:
    page.get_by_label("Date range", exact=True).select_option("custom")
    page.get_by_label("From", exact=True).fill("2026-11-10")
    page.get_by_label("To", exact=True).fill("2026-11-10")
    if queue:
        page.get_by_label("Queue", exact=True).select_option(label=queue)
    page.get_by_role("button", name="Apply").click()


def click_point(page: Page, block: str, dataset: int, index: int) -> None:
    """Click one point of a chart where Chart.js drew it."""
    canvas = page.locator(f"[data-block='{block}'] canvas")
    expect(canvas).to_have_attribute("data-drawn", "true", timeout=TIMEOUT_MS)
    canvas.scroll_into_view_if_needed()
    x, y = canvas.evaluate(
        "(c, [d, i]) => { const el = window.Chart.getChart(c).getDatasetMeta(d).data[i];"
        " return [el.x, el.y]; }",
        [dataset, index],
    )
    box = canvas.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + x, box["y"] + y + 4)  # just inside a bar's top


def test_a_manager_filters_exports_drills_down_and_builds_a_dashboard(
    page: Page, portal_server, history: History
):
    SHOTS.mkdir(parents=True, exist_ok=True)
    log_in_as(page, portal_server.url, "boss")
    page.get_by_role("link", name="Reports").click()
    expect(page.get_by_role("heading", name="Reports", exact=True)).to_be_visible()
    filter_day(page, queue="Billing")
    expect(page.get_by_test_id("report-tz")).to_have_text("America/New_York")
    figures = page.get_by_role("list", name="Figures for the range")
    expect(figures.get_by_role("link", name="3 Escalations")).to_be_visible()
    expect(figures.get_by_role("link", name="33.3 % Service level")).to_be_visible()
    by_queue = page.locator("[data-block='queue']")
    expect(by_queue.locator("canvas")).to_have_attribute("data-drawn", "true")
    by_queue.get_by_text("Table view").click()
    table = by_queue.get_by_role("table", name="By queue")
    expect(table.get_by_role("row", name=re.compile(r"^Billing 3 1 "))).to_be_visible()
    shot(page, SHOTS, "report-billing.png")

    with page.expect_download() as download:
        by_queue.get_by_role("link", name="Export CSV of By queue").click()
    rows = list(csv.reader(io.StringIO(Path(download.value.path()).read_text("utf-8-sig"))))
    assert download.value.suggested_filename == "queue_2026-11-10_2026-11-10.csv"
    assert rows[0][:4] == ["Queue", "Escalations", "Answered", "Abandoned"]
    assert rows[1][:4] == ["Billing", "3", "2", "1"]

    # Billing's Abandoned bar lists chat B; its ID opens it read-only.
    click_point(page, "queue", dataset=2, index=0)
    expect(page.get_by_role("heading", name="Abandoned")).to_be_visible(timeout=TIMEOUT_MS)
    drill = page.get_by_role("table", name=re.compile("Interactions"))
    expect(drill.get_by_role("row")).to_have_count(2)
    shot(page, SHOTS, "drill-down.png")
    drill.get_by_role("link", name=str(history.chats["b"].pk)).click()
    expect(page).to_have_url(re.compile(rf"/interactions/{history.chats['b'].pk}/$"))
    expect(page.get_by_text("I need help").first).to_be_visible()

    page.get_by_role("link", name="My dashboard").click()
    expect(page.get_by_role("heading", name="My dashboard")).to_be_visible()
    add = page.locator("#add-widget")
    add.get_by_label("Show", exact=True).select_option("chart")
    add.get_by_label("Figure, chart or table", exact=True).select_option(
        label="Offer outcomes by queue"
    )
    add.get_by_label("Date range", exact=True).select_option("30d")
    add.get_by_role("button", name="Add widget").click()
    add = page.locator("#add-widget")
    add.get_by_label("Show", exact=True).select_option("metric")
    add.get_by_label("Figure, chart or table", exact=True).select_option(
        label="Average handle time"
    )
    add.get_by_label("Date range", exact=True).select_option("30d")
    add.get_by_label("Queue", exact=True).select_option(label="Billing")
    add.get_by_role("button", name="Add widget").click()
    page.get_by_role("button", name="Move up: Average handle time").click()
    # The move is a form post: reload only once its answer is the page on screen.
    expect(page.locator("article.widget").first.get_by_role("heading")).to_have_text(
        "Average handle time"
    )
    page.reload()
    widgets = page.locator("article.widget")
    expect(widgets).to_have_count(2)
    expect(widgets.nth(0).get_by_role("heading")).to_have_text("Average handle time")
    expect(widgets.nth(0)).to_contain_text("14.5 min")  # A 11 min, C 18 min
    expect(widgets.nth(1).locator("canvas")).to_have_attribute("data-drawn", "true")
    shot(page, SHOTS, "dashboard-manager.png")


def test_a_csr_sees_only_their_own_figures(page: Page, portal_server, history: History):
    log_in_as(page, portal_server.url, "csr-one")
    expect(page.get_by_role("link", name="Reports")).to_have_count(0)
    page.get_by_role("link", name="My dashboard").click()
    add = page.locator("#add-widget")
    expect(add.get_by_label("CSR", exact=True)).to_have_count(0)
    add.get_by_label("Show", exact=True).select_option("table")
    add.get_by_label("Figure, chart or table", exact=True).select_option(label="Volumes over time")
    add.get_by_label("Date range", exact=True).select_option("30d")
    add.get_by_role("button", name="Add widget").click()
    widget = page.locator("article.widget").first
    # csr-one ended one chat on the 10th (A); the table shows that day only with it.
    expect(widget.get_by_role("row", name=re.compile(r"^2026-11-10 1 1 0 "))).to_be_visible()
    shot(page, SHOTS, "dashboard-csr.png")

    for path in (
        "/reports/",
        f"/reports/interactions/?csr={history.csr2.pk}",
        f"/reports/export/csr.csv?csr={history.csr2.pk}",
    ):
        reply = page.goto(f"{portal_server.url}{path}")
        assert reply is not None and reply.status == 403, path
