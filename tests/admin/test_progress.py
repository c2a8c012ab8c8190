"""Progress in the admin: a bar under a running job's status, the report on its page, and the
dashboard's running jobs, all read from the records (a fixed number of queries, no Redis per row)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from django_arq.admin.dashboard import RUNNING_SHOWN
from django_arq.models import JobRecord

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/django_arq/jobrecord/"
DASHBOARD = "/admin/django_arq/jobrecord/dashboard/"
XSS = "<script>alert(1)</script>"


def report(done: float, total: float | None, message: str | None = None, **extra: Any) -> dict[str, Any]:
    """The JSON form of a progress report, as the worker's recorder writes it."""
    fraction = None if total is None else min(done / total, 1.0)
    when = timezone.now().replace(microsecond=0)
    return {
        "done": done,
        "total": total,
        "fraction": fraction,
        "message": message,
        "time": when.isoformat(),
        **extra,
    }


def status_cells(html: str) -> list[str]:
    return re.findall(r'<td class="field-status_column">(.*?)</td>', html, re.S)


def test_the_list_shows_a_bar_for_running_jobs_that_reported_progress(
    superuser_client: Client, make_record: Callable[..., JobRecord]
) -> None:
    make_record(job_id="running", status="in_progress", progress=report(40, 100, f"rows 400/1000 {XSS}"))
    make_record(job_id="silent", status="in_progress")
    make_record(job_id="counted", status="in_progress", progress=report(7, None, "files"))
    make_record(job_id="done", status="complete", success=True, progress=report(100, 100))
    html = superuser_client.get(CHANGELIST).content.decode()
    assert XSS not in html
    cells = dict(zip(re.findall(r"<code>(\w+)</code>", html), status_cells(html), strict=True))
    assert (
        '<progress max="1" value="0.4000" aria-label="40/100 (40%) rows 400/1000 &lt;script&gt;'
        in cells["running"]
    )
    assert "40/100 (40%) rows 400/1000 &lt;script&gt;alert(1)&lt;/script&gt;</span>" in cells["running"]
    assert '<progress aria-label="7 files"></progress>' in cells["counted"]  # indeterminate: no total
    assert (
        "<progress" not in cells["silent"] and "<progress" not in cells["done"]
    )  # a finished job: its badge


def test_the_bar_costs_no_query_per_row(
    superuser_client: Client, make_record: Callable[..., JobRecord], django_assert_num_queries: Any
) -> None:
    make_record(status="in_progress", progress=report(1, 10))
    with CaptureQueriesContext(connection) as one_row:
        assert superuser_client.get(CHANGELIST).status_code == 200
    for i in range(30):
        make_record(status="in_progress", progress=report(i, 30, f"step {i}"))
    with django_assert_num_queries(len(one_row)):
        assert superuser_client.get(CHANGELIST).content.decode().count("<progress ") == 31


def test_a_jobs_page_shows_its_progress_in_full(
    superuser_client: Client, make_record: Callable[..., JobRecord]
) -> None:
    when = dt.datetime(2026, 3, 4, 5, 6, 7, tzinfo=dt.UTC)
    progress = {**report(2.5, 10, "half <b>way</b>"), "time": when.isoformat()}
    record = make_record(status="in_progress", progress=progress)
    page = superuser_client.get(
        reverse("admin:django_arq_jobrecord_change", args=[record.pk])
    ).content.decode()
    field = page.split("field-progress_display")[1].split("</div>\n</div>")[0]
    assert '<progress max="1" value="0.2500"' in field
    assert "2.5/10 (25%) half &lt;b&gt;way&lt;/b&gt;" in field
    assert re.search(
        r'reported at\s*<span class="arq-nowrap">2026-03-04</span> <span class="arq-nowrap">05:06:07</span>',
        field,
    )
    never = make_record(status="queued")
    page = superuser_client.get(
        reverse("admin:django_arq_jobrecord_change", args=[never.pk])
    ).content.decode()
    assert re.search(r'field-progress_display.*?<div class="readonly">-</div>', page, re.S)


@pytest.mark.parametrize(
    "junk",
    [
        "40%",
        ["done", 1],
        {"done": "1", "time": "2026-01-01T00:00:00+00:00"},
        {"done": 1, "time": "yesterday"},
        {"done": 1, "time": "2026-01-01T00:00:00"},  # no offset: not a time the recorder writes
        {"done": True, "time": "2026-01-01T00:00:00+00:00"},  # a bool is not a count
        {"done": 1, "total": "ten", "fraction": 1e308, "message": 5, "time": "2026-01-01T00:00:00+00:00"},
    ],
)
def test_a_progress_field_written_by_hand_never_breaks_a_page(
    superuser_client: Client, make_record: Callable[..., JobRecord], junk: Any
) -> None:
    record = make_record(status="in_progress", progress=junk if not isinstance(junk, dict) else {**junk})
    assert superuser_client.get(CHANGELIST).status_code == 200
    url = reverse("admin:django_arq_jobrecord_change", args=[record.pk])
    assert superuser_client.get(url).status_code == 200
    assert superuser_client.get(DASHBOARD).status_code == 200


def test_the_dashboard_lists_running_jobs_with_their_progress(
    viewer_client: Client, make_record: Callable[..., JobRecord]
) -> None:
    queue = "arq:queue"  # the default alias's queue: always on the dashboard
    for i in range(RUNNING_SHOWN + 2):
        later = timezone.now() + dt.timedelta(seconds=i)
        progress = report(i, 20, f"part {i}")
        make_record(job_id=f"run-{i:02d}", queue_name=queue, status="in_progress", enqueue_time=later,
                    progress=progress)  # fmt: skip
    make_record(
        job_id="quiet",
        queue_name=queue,
        status="in_progress",
        enqueue_time=timezone.now() - dt.timedelta(days=1),
    )
    make_record(job_id="queued-one", queue_name=queue, status="queued", progress=report(1, 2))
    with CaptureQueriesContext(connection) as ctx:
        response = viewer_client.get(DASHBOARD)
    stats = next(s for s in response.context["queues"] if (s.alias, s.queue_name) == ("default", queue))
    shown = [job.job_id for job in stats.running]
    assert shown == [f"run-{i:02d}" for i in range(RUNNING_SHOWN + 1, 1, -1)]  # newest first, bounded
    html = response.content.decode()
    section = html.split('data-queue="arq:queue"')[1].split("</section>")[0]
    assert "Running jobs, newest first" in section
    assert '<tr data-job-id="run-11">' in section and "11/20 (55%) part 11" in section
    assert "queued-one" not in section
    running_queries = [
        q for q in ctx.captured_queries if "in_progress" in q["sql"] and "progress" in q["sql"]
    ]
    assert len(running_queries) == 1, running_queries
