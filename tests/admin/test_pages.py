"""The job list and a job's page: escaping, read-only, filters, search, permissions, queries."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable

import pytest
import redis
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from django_arq import get_queue
from django_arq.models import JobRecord
from django_arq.queues.drivers import run_sync
from django_arq.queues.heartbeats import beat, leave

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/django_arq/jobrecord/"
XSS = "<script>alert('x')</script>"


def change_url(record: JobRecord) -> str:
    return reverse("admin:django_arq_jobrecord_change", args=[record.pk])


def test_html_in_payloads_is_escaped_on_list_and_detail(
    superuser_client: Client, make_record: Callable[..., JobRecord]
) -> None:
    record = make_record(
        name=f"tests.jobs.{XSS}",
        args=[XSS, {"html": "<img src=x onerror=alert(1)>"}],
        kwargs={"note": XSS},
        status="complete",
        success=False,
        result={"exception": "builtins.ValueError", "message": XSS},
        error=f"Traceback: {XSS}",
    )
    for url in (CHANGELIST, change_url(record)):
        html = superuser_client.get(url).content.decode()
        assert XSS not in html and "<img src=x" not in html
        assert "&lt;script&gt;" in html
    detail = superuser_client.get(change_url(record)).content.decode()
    assert '<pre class="arq-payload">[\n  &quot;&lt;script&gt;' in detail  # pretty-printed, escaped JSON
    assert "Traceback: &lt;script&gt;" in detail


def test_list_shows_badges_durations_and_links(
    superuser_client: Client, make_record: Callable[..., JobRecord]
) -> None:
    start = timezone.now()
    make_record(name="tests.jobs.ok", status="complete", success=True, start_time=start,
                finish_time=start + dt.timedelta(seconds=1.5))  # fmt: skip
    make_record(name="tests.jobs.bad", status="complete", success=False, start_time=start, finish_time=start)
    make_record(name="tests.jobs.stopped", status="complete", success=False, abort_requested_at=start)
    by_worker = make_record(name="tests.jobs.cancelled", status="complete", success=False, error="aborted")
    make_record(name="tests.jobs.waiting", status="deferred")
    html = superuser_client.get(CHANGELIST).content.decode()
    for css in ("success", "failed", "aborted", "deferred"):
        assert f'class="arq-badge arq-{css}"' in html
    # Only the worker's record says aborted: a job whose abort was requested may still fail on its own.
    assert html.count('class="arq-badge arq-aborted"') == 1
    assert html.count('class="arq-badge arq-failed"') == 2
    assert 'class="arq-badge arq-aborted"' in superuser_client.get(change_url(by_worker)).content.decode()
    assert "1.50 s" in html and "0 ms" in html
    assert 'href="/admin/django_arq/jobrecord/dashboard/"' in html
    assert "django_arq/admin.css" in html


def test_newest_first_filters_and_search(
    superuser_client: Client, make_record: Callable[..., JobRecord]
) -> None:
    now = timezone.now()
    old = make_record(name="tests.jobs.old", enqueue_time=now - dt.timedelta(days=40), queue_name="q-old")
    new = make_record(name="tests.jobs.new", enqueue_time=now, status="in_progress", alias="mock")
    ids = lambda response: [r.pk for r in response.context["cl"].result_list]  # noqa: E731
    assert ids(superuser_client.get(CHANGELIST)) == [new.pk, old.pk]
    assert ids(superuser_client.get(CHANGELIST, {"status__exact": "in_progress"})) == [new.pk]
    assert ids(superuser_client.get(CHANGELIST, {"queue_name": "q-old"})) == [old.pk]
    assert ids(superuser_client.get(CHANGELIST, {"alias": "mock"})) == [new.pk]
    assert ids(superuser_client.get(CHANGELIST, {"name": "tests.jobs.old"})) == [old.pk]
    assert ids(superuser_client.get(CHANGELIST, {"q": old.job_id})) == [old.pk]
    assert ids(superuser_client.get(CHANGELIST, {"q": "jobs.ne"})) == [new.pk]
    y, m = old.enqueue_time.year, old.enqueue_time.month
    assert ids(superuser_client.get(CHANGELIST, {"enqueue_time__year": y, "enqueue_time__month": m})) == [
        old.pk
    ]
    week = {
        "enqueue_time__gte": str(
            (now - dt.timedelta(days=7)).replace(hour=0, minute=0, second=0, microsecond=0)
        )
    }
    assert ids(superuser_client.get(CHANGELIST, week)) == [new.pk]
    html = superuser_client.get(CHANGELIST).content.decode()
    assert (
        "?name=tests.jobs.old" in html and "?queue_name=q-old" in html
    )  # filter choices from the index walk


def test_list_queries_do_not_grow_with_rows(
    superuser_client: Client, make_record: Callable[..., JobRecord]
) -> None:
    def count_queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert superuser_client.get(CHANGELIST).status_code == 200
        return len(ctx)

    make_record(retry_of=make_record())
    few = count_queries()
    JobRecord.objects.bulk_create(
        JobRecord(
            job_id=f"bulk-{i}", name=f"tests.jobs.n{i % 7}", enqueue_time=timezone.now(), queue_name="q"
        )
        for i in range(150)
    )
    assert count_queries() == few


def test_detail_page_is_read_only_with_buttons_for_operators(
    superuser_client: Client, viewer_client: Client, make_record: Callable[..., JobRecord]
) -> None:
    record = make_record()
    done = make_record(status="complete", success=True, retry_of=record)
    html = superuser_client.get(change_url(record)).content.decode()
    assert 'name="_save"' not in html
    buttons = lambda r, page: {b for b in ("abort", "refresh", "retry") if f"/{r.pk}/{b}/" in page}  # noqa: E731
    assert buttons(record, html) == {"abort", "refresh"}  # retry is for finished jobs
    assert "csrfmiddlewaretoken" in html
    short = f'<code title="{done.job_id}">{done.job_id[:8]}…</code>'
    assert f'<a href="{change_url(done)}">{short}</a>' in html  # "retried as", its full id in the title
    done_html = superuser_client.get(change_url(done)).content.decode()
    assert buttons(done, done_html) == {"refresh", "retry"}
    assert f'href="{change_url(record)}"' in done_html  # "retry of"
    viewer_html = viewer_client.get(change_url(record)).content.decode()
    assert viewer_client.get(change_url(record)).status_code == 200
    assert "/abort/" not in viewer_html and 'name="_save"' not in viewer_html


def test_records_cannot_be_added_or_edited(
    superuser_client: Client, make_record: Callable[..., JobRecord]
) -> None:
    record = make_record(name="tests.jobs.add")
    assert superuser_client.get("/admin/django_arq/jobrecord/add/").status_code == 403
    response = superuser_client.post(change_url(record), {"name": "tests.jobs.changed", "status": "complete"})
    assert response.status_code == 403
    record.refresh_from_db()
    assert (record.name, record.status) == ("tests.jobs.add", "queued")


def test_delete_needs_delete_permission(
    superuser_client: Client, viewer_client: Client, make_record: Callable[..., JobRecord]
) -> None:
    record = make_record()
    delete_url = reverse("admin:django_arq_jobrecord_delete", args=[record.pk])
    assert viewer_client.post(delete_url, {"post": "yes"}).status_code == 403
    assert JobRecord.objects.filter(pk=record.pk).exists()
    assert superuser_client.post(delete_url, {"post": "yes"}).status_code == 302
    assert not JobRecord.objects.filter(pk=record.pk).exists()


def test_list_needs_view_permission(client: Client, db: None, make_record: Callable[..., JobRecord]) -> None:
    from django.contrib.auth.models import User

    record = make_record()
    assert client.get(CHANGELIST)["Location"].startswith("/admin/login/")
    client.force_login(User.objects.create_user("staff", password="pw", is_staff=True))
    assert client.get(CHANGELIST).status_code == 403
    assert client.get(change_url(record)).status_code == 403


def test_date_hierarchy_offers_the_span_of_jobs(
    superuser_client: Client, make_record: Callable[..., JobRecord]
) -> None:
    utc = dt.UTC
    make_record(enqueue_time=dt.datetime(2025, 11, 3, 12, tzinfo=utc))
    make_record(enqueue_time=dt.datetime(2026, 2, 5, 12, tzinfo=utc))
    make_record(enqueue_time=dt.datetime(2026, 2, 7, 12, tzinfo=utc))

    def titles(params: dict[str, str]) -> list[str]:
        html = superuser_client.get(CHANGELIST, params).content.decode()
        nav = html.split('<nav class="toplinks"')[1].split("</nav>")[0]
        return [part.split(">")[1].split("<")[0] for part in nav.split("<a href=")[1:]]

    assert titles({}) == ["2025", "2026"]
    assert titles({"enqueue_time__year": "2026"}) == ["&lsaquo; All dates", "February 2026"]
    assert titles({"enqueue_time__year": "2026", "enqueue_time__month": "2"}) == [
        "&lsaquo; 2026", "February 5", "February 6", "February 7"
    ]  # fmt: skip
    day = {"enqueue_time__year": "2026", "enqueue_time__month": "2", "enqueue_time__day": "5"}
    response = superuser_client.get(CHANGELIST, day)
    assert len(response.context["cl"].result_list) == 1 and "February 5" in response.content.decode()


def test_search_by_job_id_is_exact(superuser_client: Client, make_record: Callable[..., JobRecord]) -> None:
    target = make_record(job_id="abc-1")
    make_record(job_id="abc-10", name="tests.jobs.abc-1-like")
    response = superuser_client.get(CHANGELIST, {"q": "abc-1"})
    assert [r.pk for r in response.context["cl"].result_list] == [target.pk]
    response = superuser_client.get(CHANGELIST, {"q": "abc-1-li"})
    assert [r.job_id for r in response.context["cl"].result_list] == ["abc-10"]


def test_count_is_capped_on_big_selections(
    superuser_client: Client, make_record: Callable[..., JobRecord], monkeypatch: pytest.MonkeyPatch
) -> None:
    from django_arq.admin.changelist import CappedPaginator
    from django_arq.admin.jobs import JobRecordAdmin

    monkeypatch.setattr(CappedPaginator, "cap", 5)
    monkeypatch.setattr(JobRecordAdmin, "list_per_page", 2)
    for _ in range(8):
        make_record(status="complete", success=True)
    make_record()
    response = superuser_client.get(CHANGELIST)
    html = response.content.decode()
    assert "more than 5 jobs" in html and "Select all more than 5 jobs" in html
    assert response.context["cl"].paginator.num_pages == 3 and 'href="?p=3"' in html and "?p=4" not in html
    queued = superuser_client.get(CHANGELIST, {"status__exact": "queued"})
    assert queued.context["cl"].result_count == 1 and "1 job" in queued.content.decode()


def test_django_tasks_show_their_task_path_without_a_query_per_row(
    superuser_client: Client, make_record: Callable[..., JobRecord]
) -> None:
    run_task = "django_arq.tasks.run_task"
    make_record(name=run_task, args=["shop.tasks.send_receipt", [1], {}])
    make_record(name=run_task, args=[XSS, [], {}])
    make_record(name="tests.jobs.add", args=["not.a.task"])

    def page() -> tuple[str, int]:
        with CaptureQueriesContext(connection) as ctx:
            html = superuser_client.get(CHANGELIST).content.decode()
        return html, len(ctx)

    html, queries = page()
    # Dotted paths may break after each dot (<wbr>) in a narrow column.
    cells = [line.replace("<wbr>", "") for line in html.splitlines() if 'class="field-task_display"' in line]
    assert len(cells) == 3
    assert any("shop.tasks.send_receipt" in c for c in cells)
    assert any("tests.jobs.add" in c for c in cells) and not any("not.a.task" in c for c in cells)
    assert XSS not in html and any("&lt;script&gt;" in c for c in cells)
    assert ">Task</a>" in html  # the column header
    for i in range(20):
        make_record(name=run_task, args=[f"shop.tasks.t{i}", [], {}])
    html, more = page()
    assert more == queries and "shop.<wbr>tasks.<wbr>t19" in html
    record = JobRecord.objects.get(args__0="shop.tasks.send_receipt")
    detail = superuser_client.get(change_url(record)).content.decode()
    assert "shop.tasks.send_receipt" in detail and run_task in detail


def test_the_workers_page_with_more_running_jobs_than_a_query_takes(
    superuser_client: Client, make_record: Callable[..., JobRecord], redis_client: redis.Redis
) -> None:
    """A heartbeat listing more jobs than SQLite takes variables in one query (edited by hand, or
    many workers with a high MAX_JOBS): the page still links each job that has a record."""
    queue = get_queue().default_queue_name
    worker = f"many-{uuid.uuid4().hex[:8]}"
    linked = make_record(queue_name=queue)
    running = [linked.job_id, *(f"job-{i}" for i in range(40_000))]
    run_sync(beat(queue, worker, {"running": running}, ()), redis_client, queue)
    try:
        response = superuser_client.get(reverse("admin:django_arq_jobrecord_workers"))
        assert response.status_code == 200
        page = response.content.decode()
        assert reverse("admin:django_arq_jobrecord_change", args=[linked.pk]) in page and "job-39999" in page
    finally:
        run_sync(leave(queue, worker), redis_client, queue)


@pytest.mark.parametrize(
    "query",
    [
        "q=%00",
        "status=%ED%A0%80",  # a lone surrogate
        "queue_name=a%00b",
        "enqueue_time__year=9999",  # the drill-down's next year is past what a date holds
        "enqueue_time__year=9999&enqueue_time__month=12&enqueue_time__day=31",
        "retry_of=99999999999999999999999",
        "finish_time__gte=9999-12-31T23:59:59%2B23:00",
        "finish_time__gte=0001-01-01T00:00:00%2B01:00",
        "q=" + "x" * 100_000,
    ],
)
def test_a_query_no_database_can_answer_goes_back_to_the_list_not_a_500(
    superuser_client: Client, make_record: Callable[..., JobRecord], query: str
) -> None:
    make_record()
    url = reverse("admin:django_arq_jobrecord_changelist")
    response = superuser_client.get(f"{url}?{query}")
    assert response.status_code in (200, 302), response.status_code
    if response.status_code == 302:
        assert response["Location"] == f"{url}?e=1"
        assert superuser_client.get(response["Location"]).status_code == 200
