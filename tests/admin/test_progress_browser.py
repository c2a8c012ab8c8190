"""Progress in a real Chromium: the list's bars, a job's page and the dashboard's running jobs,
on laptop screens with the sidebar open; screenshots of each."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from django_arq.models import JobRecord
from tests.admin.test_browser import LAPTOPS, SCREENSHOTS, browser, log_in, new_page
from tests.helpers import ROOT

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

__all__ = ["browser"]

QUEUE = "arq:queue"  # the default alias's queue: always on the dashboard
TASK = "myproject.billing.tasks.send_monthly_invoice_reminders"


def _running_jobs() -> list[JobRecord]:
    """Running jobs with long messages, one without a total and one that never reported."""
    now = timezone.now()
    rows = []
    reports = [
        (400, 1000, "rows 400/1000 of the invoices of customers in the northern region"),
        (2, 3, "sending"),
        (17, None, "documents reindexed"),
        (0, 0, None),
    ]
    for i, (done, total, message) in enumerate(reports):
        when = now - dt.timedelta(seconds=5 * i)
        progress = {"done": done, "total": total, "message": message, "time": when.isoformat()}
        job_id = f"run{i}-" + "0123456789abcdef0123456789ab"
        started = when - dt.timedelta(seconds=20)
        rows.append(running(job_id, when - dt.timedelta(seconds=30), start_time=started, progress=progress))
    rows.append(running("quiet-" + "0" * 20, now - dt.timedelta(minutes=1)))
    for i in range(30):
        end = now - dt.timedelta(minutes=i + 1)
        done = running(f"done{i:02d}-" + "0123456789abcdef", end - dt.timedelta(seconds=9), finish_time=end)
        done.status, done.success, done.start_time = "complete", True, end - dt.timedelta(seconds=8)
        rows.append(done)
    return JobRecord.objects.bulk_create(rows)


def running(job_id: str, enqueued: dt.datetime, **fields: Any) -> JobRecord:
    return JobRecord(
        job_id=job_id,
        name=TASK,
        args=[0],
        enqueue_time=enqueued,
        status="in_progress",
        queue_name=QUEUE,
        **fields,
    )


def _no_sideways_scroll(page: Any) -> dict[str, list[float]]:
    return page.evaluate(
        """() => ({page: [document.scrollingElement.scrollWidth, document.scrollingElement.clientWidth]})"""
    )


@pytest.mark.parametrize(("width", "height"), LAPTOPS)
def test_progress_bars_on_the_list_a_job_and_the_dashboard(
    browser: Any, live_server: Any, width: int, height: int, tmp_path: Path
) -> None:
    # The docs show the wider laptop's pictures (DJANGO_ARQ_SCREENSHOTS=docs); the other go to tmp.
    shots = ROOT / SCREENSHOTS if SCREENSHOTS and (width, height) == LAPTOPS[1] else tmp_path
    shots.mkdir(parents=True, exist_ok=True)
    User.objects.create_superuser("admin", password="correct horse")
    records = _running_jobs()
    page = new_page(browser, width, height)
    log_in(page, live_server)
    assert page.locator("#nav-sidebar").is_visible()

    bars = page.locator("#result_list td.field-status_column progress")
    assert bars.count() == 4
    first = page.locator("#result_list tr", has=page.locator("code[title^='run0-']"))
    bar = first.locator("progress")
    assert bar.is_visible() and bar.get_attribute("value") == "0.4000"
    assert bar.get_attribute("aria-label").startswith("400/1000 (40%) rows 400/1000")  # its accessible name
    assert page.get_by_role("progressbar", name="2/3 (66%) sending").is_visible()
    box = bar.bounding_box()
    assert box is not None and box["width"] >= 40 and box["height"] >= 6  # visible, small
    text = first.locator(".arq-progress-text")
    cell = first.locator("td.field-status_column").bounding_box()
    assert cell is not None and text.bounding_box()["x"] + 1 >= cell["x"]  # inside its cell
    sizes = page.evaluate(
        """() => {
        const results = document.querySelector('#changelist .results');
        const lines = (el) => new Set([...el.getClientRects()].map((b) => Math.round(b.bottom))).size;
        return {
            page: [document.scrollingElement.scrollWidth, document.scrollingElement.clientWidth],
            results: [results.scrollWidth, results.clientWidth],
            progress: [...document.querySelectorAll('#result_list .arq-progress-text')].map(lines),
        };
    }"""
    )
    assert sizes["page"][0] <= sizes["page"][1], sizes  # the bars do not widen the list past the screen
    assert sizes["results"][0] <= sizes["results"][1], sizes
    assert set(sizes["progress"]) == {1}, sizes  # one line each: a long message is cut with an ellipsis
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(shots / "admin-progress-list.png"), full_page=False)

    page.goto(f"{live_server.url}/admin/django_arq/jobrecord/{records[0].pk}/change/")
    field = page.locator(".field-progress_display")
    assert field.locator("progress").is_visible()
    assert (
        "400/1000 (40%) rows 400/1000 of the invoices of customers in the northern region"
        in field.inner_text()
    )
    assert "reported at" in field.inner_text()
    assert _no_sideways_scroll(page)["page"][0] <= width
    page.screenshot(path=str(shots / "admin-progress-job.png"), full_page=True)

    page.goto(f"{live_server.url}/admin/django_arq/jobrecord/dashboard/")
    section = page.locator(f"section[data-queue='{QUEUE}']")
    running = section.locator("table.arq-running tbody tr")
    assert running.count() == 5
    assert running.first.locator("progress").get_attribute("value") == "0.4000"
    assert running.last.locator(".arq-running-progress").inner_text().strip() == "\u2013"  # never reported
    assert _no_sideways_scroll(page)["page"][0] <= width
    section.screenshot(path=str(shots / "admin-progress-dashboard.png"))
    names = [f"admin-progress-{kind}.png" for kind in ("list", "job", "dashboard")]
    assert all((shots / name).stat().st_size > 5_000 for name in names)
