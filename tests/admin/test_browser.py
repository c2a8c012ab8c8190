"""A real Chromium (Debian's, driven by Playwright) against a live server: filter, abort, dashboard,
and a job list that fits a laptop's screen with the admin's sidebar open.

Needs ``apt-get install -y chromium`` and ``pip install playwright`` (no ``playwright install``:
the browser is /usr/bin/chromium). Takes screenshots of the job list, the dashboard and a job.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from django.contrib.auth.models import User
from django.db import connections
from django.utils import timezone

from django_arq import get_queue
from django_arq.admin.jobs import JobRecordAdmin
from django_arq.models import JobRecord
from tests.helpers import ROOT, Process, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: Where the screenshots go: the test's tmp dir, or the README's pictures with
#: ``DJANGO_ARQ_SCREENSHOTS=docs pytest -m browser tests/admin``.
SCREENSHOTS = os.environ.get("DJANGO_ARQ_SCREENSHOTS")
#: Laptop screens the job list must fit with the admin's navigation sidebar open.
LAPTOPS = [(1366, 768), (1440, 900)]


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):  # fail loudly: a missing browser is not a skip
        raise RuntimeError(f"the browser tests need Chromium at {CHROMIUM} (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop around; the ORM calls made here are synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()
        # Inside Playwright's block the ORM runs with a connection of its own (Django's per-context
        # storage sees Playwright's event loop); close it, or the test database cannot be dropped.
        connections.close_all()


def new_page(browser: Any, width: int, height: int) -> Any:
    context = browser.new_context(viewport={"width": width, "height": height})
    context.set_default_timeout(15_000)
    return context.new_page()


@pytest.fixture
def page(browser: Any) -> Any:
    """A laptop-sized page: the screenshots show what most operators see."""
    return new_page(browser, *LAPTOPS[1])


def log_in(page: Any, live_server: Any, next_url: str = "/admin/django_arq/jobrecord/") -> None:
    page.goto(f"{live_server.url}/admin/login/?next={next_url}")
    page.fill("#id_username", "admin")
    page.fill("#id_password", "correct horse")
    page.click("input[type=submit]")
    page.wait_for_selector("#result_list")


def _sample_history(queue_name: str) -> None:
    """A few finished jobs so that the list and the dashboard have something to show."""
    now = timezone.now()
    rows = []
    for i in range(12):
        end = now - dt.timedelta(minutes=3 * i + 1)
        ok = i % 4 != 3
        rows.append(
            JobRecord(
                job_id=f"history-{i}",
                name="tests.jobs.add" if ok else "tests.jobs.fail",
                args=[i, i] if ok else ["bad input"],
                enqueue_time=end - dt.timedelta(seconds=2),
                start_time=end - dt.timedelta(seconds=1),
                finish_time=end,
                status="complete",
                success=ok,
                result=2 * i if ok else {"exception": "builtins.ValueError", "message": "bad input"},
                queue_name=queue_name,
            )
        )
    JobRecord.objects.bulk_create(rows)


def test_filter_abort_and_dashboard(
    page: Any,
    live_server: Any,
    worker_queue: str,
    admin_worker: Process,
    redis_client: redis.Redis,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    shots = ROOT / SCREENSHOTS if SCREENSHOTS else tmp_path
    shots.mkdir(exist_ok=True)
    monkeypatch.setattr(JobRecordAdmin, "abort_timeout", 5.0)
    User.objects.create_superuser("admin", password="correct horse")
    _sample_history(worker_queue)
    queue = get_queue()
    queue.enqueue_sync("tests.jobs.add", 40, 2, _queue_name=worker_queue, _defer_by=3600)
    slow = queue.enqueue_sync("tests.jobs.sleep_for", 60, _queue_name=worker_queue)
    wait_for(lambda: redis_client.exists(f"arq:in-progress:{slow.id}"), timeout=10)

    log_in(page, live_server)

    page.click("#changelist-filter a[href*='name=tests.jobs.sleep_for']")
    page.wait_for_url("**name=tests.jobs.sleep_for**")
    rows = page.locator("#result_list tbody tr")
    assert (
        rows.count() == 1 and rows.first.locator(".field-short_job_id code").get_attribute("title") == slow.id
    )
    rows.first.locator("input.action-select").check()
    page.select_option("select[name=action]", "abort_jobs")
    page.click("button[name=index]")

    message = page.locator("ul.messagelist li").first
    assert message.inner_text() == f"Aborted: tests.jobs.sleep_for [{slow.id}]"
    badge = page.locator("#result_list tbody tr .arq-badge").first
    assert badge.inner_text() == "aborted"
    record = JobRecord.objects.get(job_id=slow.id)
    assert (record.status, record.success, record.abort_requested_by) == ("complete", False, "admin")

    page.goto(f"{live_server.url}/admin/django_arq/jobrecord/")
    page.wait_for_selector("#result_list")
    assert page.locator("#nav-sidebar").is_visible()  # as a newcomer sees it: the sidebar open
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(shots / "admin-jobs.png"), full_page=False)

    page.click("a[href$='/jobrecord/dashboard/']")
    section = page.locator(f"section[data-alias=default][data-queue='{worker_queue}']")
    chart = section.locator("svg.arq-chart")
    chart.wait_for()
    assert chart.is_visible() and chart.bounding_box()["width"] > 300
    assert "9 succeeded, 4 failed" in chart.get_attribute("aria-label")
    assert section.locator(".arq-deferred-count").inner_text() == "1"
    health = section.locator(".arq-health")
    assert (
        re.search(r"last report \d+ s ago", health.inner_text()) and "j_complete" not in health.inner_text()
    )
    assert section.locator(".arq-finished-count a").inner_text() == "13"  # a link to the filtered list
    page.screenshot(path=str(shots / "admin-dashboard.png"), full_page=True)

    page.goto(f"{live_server.url}/admin/django_arq/jobrecord/{record.pk}/change/")
    assert page.locator(".field-status_badge .arq-badge").inner_text() == "aborted"
    assert page.locator("input[value='Retry job']").is_visible()
    page.screenshot(path=str(shots / "admin-job.png"), full_page=True)
    assert all((shots / f"admin-{name}.png").stat().st_size > 10_000 for name in ("jobs", "dashboard", "job"))


#: Names as long as a real project's, so that the list is measured with wrapping at stake.
LONG_TASKS = ["myproject.billing.tasks.send_monthly_invoice_reminders", "myproject.search.reindex_documents"]


def _realistic_list(queue_name: str) -> None:
    now = timezone.now()
    rows = []
    for i in range(40):
        end = now - dt.timedelta(minutes=i, seconds=7)
        rows.append(
            JobRecord(
                job_id=f"{i:02d}" + "0123456789abcdef0123456789abcd",
                name=LONG_TASKS[i % 2],
                args=[i],
                enqueue_time=end - dt.timedelta(seconds=95),
                start_time=end - dt.timedelta(seconds=90) if i % 5 else None,
                finish_time=end if i % 5 else None,
                status="complete" if i % 5 else "deferred",
                success=(i % 3 != 0) if i % 5 else None,
                queue_name=f"{queue_name}:billing-high-priority" if i % 2 else queue_name,
                alias="default",
            )
        )
    JobRecord.objects.bulk_create(rows)


@pytest.mark.parametrize(("width", "height"), LAPTOPS)
def test_the_job_list_fits_a_laptop_with_the_sidebar_open(
    browser: Any, live_server: Any, width: int, height: int
) -> None:
    """No horizontal scrolling of the page or of the list, and every time on one line."""
    User.objects.create_superuser("admin", password="correct horse")
    _realistic_list("myproject:queue")
    page = new_page(browser, width, height)
    log_in(page, live_server)
    assert page.locator("#nav-sidebar").is_visible() and page.locator("#changelist-filter").is_visible()
    sizes = page.evaluate(
        """() => {
        const results = document.querySelector('#changelist .results');
        const table = document.querySelector('#result_list');
        return {
            page: [document.scrollingElement.scrollWidth, document.scrollingElement.clientWidth],
            results: [results.scrollWidth, results.clientWidth],
            table: [table.getBoundingClientRect().right, results.getBoundingClientRect().right],
        };
    }"""
    )
    assert sizes["page"][0] <= sizes["page"][1], sizes  # the page does not scroll sideways
    assert sizes["results"][0] <= sizes["results"][1], sizes  # nor does the list in its container
    assert sizes["table"][0] <= sizes["table"][1] + 0.5, sizes
    lines = page.evaluate(
        """() => {
            const lines = (el) => {
                const range = document.createRange();
                range.selectNodeContents(el);
                const boxes = [...range.getClientRects()].filter((box) => box.width > 0);
                return new Set(boxes.map((box) => Math.round(box.bottom))).size;  // lines of text
            };
            const all = (selector) => [...document.querySelectorAll(selector)].map(lines);
            return {
                times: all('#result_list td.field-enqueued, #result_list td.field-finished'),
                parts: all('#result_list td .arq-nowrap'),
                durations: all('#result_list td.field-duration_display'),
                task: document.querySelector('#result_list th.column-task_display').offsetWidth,
            };
        }"""
    )
    # A time may wrap between its date and its time of day, never inside either; durations never.
    assert len(lines["times"]) == 2 * 40 and max(lines["times"]) <= 2, lines["times"]
    assert len(lines["parts"]) == 2 * (40 + 32) and set(lines["parts"]) == {1}, lines["parts"]
    assert len(lines["durations"]) == 40 and set(lines["durations"]) == {1}, lines["durations"]
    assert lines["task"] >= 120, lines  # the task's name keeps a readable width
    first = page.locator("#result_list tbody tr").first.locator(".field-short_job_id code")
    newest = JobRecord.objects.order_by("-enqueue_time").first()
    assert newest is not None and first.get_attribute("title") == newest.job_id
    assert first.inner_text() == newest.job_id[:8] + "…"
