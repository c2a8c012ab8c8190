"""A real Chromium (Debian's, driven by Playwright) against a live server: filter, abort, dashboard.

Needs ``apt-get install -y chromium`` and ``pip install playwright`` (no ``playwright install``:
the browser is /usr/bin/chromium). Takes screenshots of the job list, the dashboard and a job.
"""

from __future__ import annotations

import datetime as dt
import os
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


@pytest.fixture
def page(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):  # fail loudly: a missing browser is not a skip
        raise RuntimeError(f"the browser tests need Chromium at {CHROMIUM} (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop around; the ORM calls made here are synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(viewport={"width": 1920, "height": 1000})
        context.set_default_timeout(15_000)
        yield context.new_page()
        context.close()
        browser.close()
        # Inside Playwright's block the ORM runs with a connection of its own (Django's per-context
        # storage sees Playwright's event loop); close it, or the test database cannot be dropped.
        connections.close_all()


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

    page.goto(f"{live_server.url}/admin/login/?next=/admin/django_arq/jobrecord/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", "correct horse")
    page.click("input[type=submit]")
    page.wait_for_selector("#result_list")

    page.click("#changelist-filter a[href*='name=tests.jobs.sleep_for']")
    page.wait_for_url("**name=tests.jobs.sleep_for**")
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 1 and slow.id in rows.first.inner_text()
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
    page.click("#toggle-nav-sidebar")  # more room for the columns
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(shots / "admin-jobs.png"), full_page=False)

    page.click("a[href$='/jobrecord/dashboard/']")
    section = page.locator(f"section[data-alias=default][data-queue='{worker_queue}']")
    chart = section.locator("svg.arq-chart")
    chart.wait_for()
    assert chart.is_visible() and chart.bounding_box()["width"] > 300
    assert "9 succeeded, 4 failed" in chart.get_attribute("aria-label")
    assert section.locator(".arq-deferred-count").inner_text() == "1"
    assert "reporting" in section.locator(".arq-health").inner_text()
    page.screenshot(path=str(shots / "admin-dashboard.png"), full_page=True)

    page.goto(f"{live_server.url}/admin/django_arq/jobrecord/{record.pk}/change/")
    assert page.locator(".field-status_badge .arq-badge").inner_text() == "aborted"
    assert page.locator("input[value='Retry job']").is_visible()
    page.screenshot(path=str(shots / "admin-job.png"), full_page=True)
    assert all((shots / f"admin-{name}.png").stat().st_size > 10_000 for name in ("jobs", "dashboard", "job"))
