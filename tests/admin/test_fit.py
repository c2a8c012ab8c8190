"""The job list and a job's page as served: short ids, one date format, no duplicated field, and a
traceback with the project's frames first (the browser test measures the layout itself)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from django_arq.admin.tracebacks import parse_traceback, render_traceback
from django_arq.conf import RUN_TASK
from django_arq.models import JobRecord

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/django_arq/jobrecord/"
ONE_FORMAT = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
TRACEBACK = """Traceback (most recent call last):
  File "/srv/app/.venv/lib/python3.13/site-packages/arq/worker.py", line 633, in run_job
    result = await asyncio.wait_for(
             ^^^^^^^^^^^^^^^^^^^^^^^
  File "/usr/lib/python3.13/asyncio/tasks.py", line 507, in wait_for
    return await fut
  File "/srv/app/.venv/lib/python3.13/site-packages/django_arq/worker.py", line 220, in run
    result = await fn(ctx, *args, **kwargs)
  File "/srv/app/.venv/lib/python3.13/site-packages/asgiref/sync.py", line 518, in __call__
    ret = await asyncio.shield(exec_coro)
  File "/srv/app/myapp/jobs.py", line 12, in send_report
    build(doc_id)
  File "/srv/app/myapp/reports.py", line 40, in build
    raise ValueError(f"no document {doc_id}")
ValueError: no document <b>7</b>
"""


def change_url(record: JobRecord) -> str:
    return reverse("admin:django_arq_jobrecord_change", args=[record.pk])


def cell_texts(html: str, field: str) -> list[str]:
    """The text of every list cell of ``field``."""
    cells = re.findall(rf'<t[dh] class="field-{field}[^"]*">(.*?)</t[dh]>', html, re.S)
    return [re.sub(r"<[^>]+>", "", c).strip() for c in cells]


def test_list_shows_short_ids_with_the_full_id_in_a_title(
    superuser_client: Client, make_record: Callable[..., JobRecord]
) -> None:
    record = make_record(job_id="0123456789abcdef0123456789abcdef", queue_name="q-long", alias="emails")
    short = make_record(job_id="cron-1")
    html = superuser_client.get(CHANGELIST).content.decode()
    assert '<code title="0123456789abcdef0123456789abcdef">01234567…</code>' in html
    assert f"<code>{short.job_id}</code>" in html  # short enough to show whole
    assert '<span title="alias: emails">q-long</span>' in html
    header = re.findall(r'<th scope="col" class="[^"]*column-([a-z_]+)', html)
    assert header == ["short_job_id", "task_display", "status_column", "queue_display", "enqueued",
                      "finished", "duration_display"]  # fmt: skip
    assert superuser_client.get(CHANGELIST, {"q": record.job_id}).context["cl"].result_list[0] == record


def test_one_date_format_on_the_list_and_the_job_page(
    superuser_client: Client, make_record: Callable[..., JobRecord]
) -> None:
    when = dt.datetime(2026, 3, 4, 5, 6, 7, tzinfo=dt.UTC)
    record = make_record(enqueue_time=when, start_time=when, finish_time=when + dt.timedelta(seconds=2),
                         status="complete", success=True, abort_requested_at=when)  # fmt: skip
    html = superuser_client.get(CHANGELIST).content.decode()
    assert cell_texts(html, "enqueued") == ["2026-03-04 05:06:07"]
    assert cell_texts(html, "finished") == ["2026-03-04 05:06:09"]
    page = superuser_client.get(change_url(record)).content.decode()
    times = {}
    for field in ("enqueued", "started", "finished", "abort_requested", "record_created", "record_updated"):
        block = page.split(f"field-{field}")[1]
        times[field] = re.sub(
            r"<[^>]+>", "", block.split('<div class="readonly">')[1].split("</div>")[0]
        ).strip()
    assert all(ONE_FORMAT.match(value) for value in times.values()), times
    assert (times["started"], times["abort_requested"]) == ("2026-03-04 05:06:07", "2026-03-04 05:06:07")
    assert "a.m." not in page and "p.m." not in page


def test_the_job_page_shows_the_task_once_and_the_full_id(
    superuser_client: Client, make_record: Callable[..., JobRecord]
) -> None:
    record = make_record(name="tests.jobs.add")
    page = superuser_client.get(change_url(record)).content.decode()
    labels = re.findall(r"<label>([^<]*):</label>", page)
    assert labels.count("Task") == 1 and "Task name" not in labels and "field-name" not in page
    assert "Task name" not in page and page.count("<label>Task:</label>") == 1
    assert f'<div class="readonly">{record.job_id}</div>' in page
    task = make_record(name=RUN_TASK, args=["myapp.tasks.send", [], {}])
    page = superuser_client.get(change_url(task)).content.decode()
    assert f'myapp.tasks.send <span class="arq-quiet">(arq job {RUN_TASK})</span>' in page


def test_a_traceback_shows_the_projects_frames_first(
    superuser_client: Client, make_record: Callable[..., JobRecord]
) -> None:
    record = make_record(status="complete", success=False, error=TRACEBACK)
    page = superuser_client.get(change_url(record)).content.decode()
    field = page.split("field-error_pretty")[1]
    error, own, full = field.split('<pre class="arq-payload')[1:4]
    assert error.startswith(' arq-error">ValueError: no document &lt;b&gt;7&lt;/b&gt;')
    assert "Your code (2 of 6 frames, innermost last):" in field
    assert own.count("File &quot;") == 2 and "myapp/jobs.py" in own and "myapp/reports.py" in own
    assert own.index("myapp/jobs.py") < own.index("myapp/reports.py")
    assert "<details><summary>Full traceback</summary>" in field and full.count("File &quot;") == 6


def test_tracebacks_without_frames_of_the_project_are_shown_whole() -> None:
    assert parse_traceback("aborted") is None
    assert str(render_traceback("aborted")) == '<pre class="arq-payload">aborted</pre>'
    library_only = "\n".join(
        line for line in TRACEBACK.splitlines() if "myapp" not in line and "build" not in line
    )
    assert "<details>" not in render_traceback(library_only)
    chained = (
        TRACEBACK + "\nDuring handling of the above exception, another exception occurred:\n\n" + TRACEBACK
    )
    parsed = parse_traceback(chained)
    assert (
        parsed is not None and len(parsed.frames) == 12 and parsed.error == "ValueError: no document <b>7</b>"
    )


@given(st.text())
def test_any_error_text_is_kept_whole_and_escaped(text: str) -> None:
    html = str(render_traceback(text))
    assert "<script" not in html.lower() or "<script" not in text.lower()
    from django.utils.html import escape

    assert escape(text) in html  # the whole text, escaped, is always on the page
