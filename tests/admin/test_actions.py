"""Admin actions and per-job buttons: abort, refresh, retry; for each kind of user.

Jobs are real arq jobs in Redis: queued on a private queue no worker reads, or run by a plain arq
worker. Records come from the audit layer (``get_queue().enqueue_sync``) or are written directly.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
import redis
from arq.constants import abort_jobs_ss
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.messages import get_messages
from django.db import connection
from django.http import HttpResponse
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from django_arq import get_queue
from django_arq.audit.updates import update_records
from django_arq.models import JobRecord
from tests.helpers import free_port, wait_for

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:django_arq_jobrecord_changelist"


def enqueue(queue_name: str, name: str = "tests.jobs.add", *args: Any, alias: str = "default") -> JobRecord:
    """Enqueue through the audited queue and return the record it wrote."""
    meta = get_queue(alias).enqueue_sync(name, *args, _queue_name=queue_name)
    return JobRecord.objects.get(alias=alias, job_id=meta.id)


def run_action(client: Client, action: str, *records: JobRecord) -> HttpResponse:
    data = {"action": action, "index": 0, ACTION_CHECKBOX_NAME: [r.pk for r in records]}
    return client.post(reverse(CHANGELIST), data)  # type: ignore[return-value]


def press(client: Client, button: str, record: JobRecord) -> HttpResponse:
    return client.post(reverse(f"admin:django_arq_jobrecord_{button}", args=[record.pk]))  # type: ignore[return-value]


def texts(response: HttpResponse) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def is_queued(client: redis.Redis, queue_name: str, job_id: str) -> bool:
    return client.zscore(queue_name, job_id) is not None


# -- abort -----------------------------------------------------------------------------------


@pytest.mark.parametrize("via", ["action", "button"])
def test_abort_without_worker_is_only_requested(
    via: str, superuser_client: Client, queue_name: str, redis_client: redis.Redis
) -> None:
    record = enqueue(queue_name, "tests.jobs.add", 1, 2)
    if via == "action":
        response = run_action(superuser_client, "abort_jobs", record)
    else:
        response = press(superuser_client, "abort", record)
        assert response["Location"] == reverse("admin:django_arq_jobrecord_change", args=[record.pk])
    assert response.status_code == 302
    (message,) = texts(response)
    assert message.startswith("Abort requested, but no worker answered in time")
    assert record.job_id in message
    record.refresh_from_db()
    assert record.abort_requested_at is not None and record.abort_requested_by == "root"
    assert record.status == "queued"
    assert redis_client.zscore(abort_jobs_ss, record.job_id) is not None  # the request stays for a worker
    redis_client.zrem(abort_jobs_ss, record.job_id)


def test_abort_running_job_is_confirmed_by_worker(
    superuser_client: Client, worker_queue: str, redis_client: redis.Redis
) -> None:
    record = enqueue(worker_queue, "tests.jobs.sleep_for", 30)
    wait_for(lambda: redis_client.exists(f"arq:in-progress:{record.job_id}"), timeout=10)
    response = run_action(superuser_client, "abort_jobs", record)
    assert texts(response) == [f"Aborted: tests.jobs.sleep_for [{record.job_id}]"]
    record.refresh_from_db()
    assert (record.status, record.success) == ("complete", False)
    assert record.abort_requested_by == "root" and record.finish_time is not None
    assert record.result["exception"].endswith("CancelledError") and record.error == "aborted"
    assert not redis_client.exists(f"arq:in-progress:{record.job_id}")


def test_abort_reports_each_job(
    superuser_client: Client, worker_queue: str, queue_name: str, make_record: Callable[..., JobRecord]
) -> None:
    done = enqueue(worker_queue, "tests.jobs.add", 2, 3)
    queue = get_queue()
    wait_for(lambda: _finished(queue, done), timeout=10)
    queued = enqueue(queue_name, "tests.jobs.add", 4, 5)
    ghost = make_record(name="tests.jobs.ghost")
    response = run_action(superuser_client, "abort_jobs", done, queued, ghost)
    messages = texts(response)
    assert f"Already finished, nothing to abort: tests.jobs.add [{done.job_id}]" in messages
    assert any(m.startswith("Abort requested") and queued.job_id in m for m in messages)
    assert any(m.startswith("Unknown to Redis") and ghost.job_id in m for m in messages)
    done.refresh_from_db()
    assert (done.status, done.success, done.result) == ("complete", True, 5)  # refreshed on the way
    ghost.refresh_from_db()
    assert ghost.status == "queued" and ghost.abort_requested_by == ""


def _finished(queue: Any, record: JobRecord) -> bool:
    try:
        queue.get_job_result_sync(record.job_id, record.queue_name)
    except Exception:
        return False
    return True


def test_abort_on_mock_backend(superuser_client: Client) -> None:
    record = enqueue("django-arq-tests:queue", "tests.jobs.add", 1, 1, alias="mock")
    response = run_action(superuser_client, "abort_jobs", record)
    assert texts(response) == [f"Aborted: tests.jobs.add [{record.job_id}]"]
    record.refresh_from_db()
    assert (record.status, record.success) == ("complete", False)


def test_abort_with_redis_down_reports_it(
    superuser_client: Client, make_record: Callable[..., JobRecord]
) -> None:
    down = {"BACKEND": "django_arq.RedisArqQueue", "REDIS_URL": f"redis://:secret@127.0.0.1:{free_port()}/0"}
    from django.conf import settings

    with override_settings(ARQ_QUEUES={**settings.ARQ_QUEUES, "down": down}):
        record = make_record(alias="down")
        response = run_action(superuser_client, "abort_jobs", record)
        (message,) = texts(response)
    assert message.startswith("Redis unavailable: ") and record.job_id in message
    assert "secret" not in message and "***" in message
    record.refresh_from_db()
    assert record.abort_requested_by == "" and record.status == "queued"


# -- refresh ---------------------------------------------------------------------------------


@pytest.mark.parametrize("via", ["action", "button"])
def test_refresh_reads_state_from_redis(
    via: str, superuser_client: Client, worker_queue: str, make_record: Callable[..., JobRecord]
) -> None:
    record = enqueue(worker_queue, "tests.jobs.fail", "boom")
    wait_for(lambda: _finished(get_queue(), record), timeout=10)
    assert JobRecord.objects.get(pk=record.pk).status == "queued"  # a plain arq worker writes no records
    ghost = make_record()
    if via == "action":
        response = run_action(superuser_client, "refresh_jobs", record, ghost)
        assert any(m.startswith("Unknown to Redis") and ghost.job_id in m for m in texts(response))
    else:
        response = press(superuser_client, "refresh", record)
    assert f"Refreshed from Redis: tests.jobs.fail [{record.job_id}]" in texts(response)
    record.refresh_from_db()
    assert (record.status, record.success) == ("complete", False)
    assert record.result == {"exception": "builtins.ValueError", "message": "boom"}
    assert "boom" in record.error and record.start_time and record.finish_time
    ghost.refresh_from_db()
    assert ghost.status == "queued"  # Redis forgot it: the record is kept as it was


def test_refresh_leaves_a_record_its_worker_wrote_after_the_admin_read_it(
    superuser_client: Client, queue_name: str, redis_client: redis.Redis
) -> None:
    """Redis says the job is in progress; before the admin's write, its worker records it complete:
    the record stays complete (not set back to in progress), and the message says why."""
    record = enqueue(queue_name, "tests.jobs.add", 1, 2)
    redis_client.psetex(f"arq:in-progress:{record.job_id}", 60_000, b"1")
    end = timezone.now()
    done = {"status": "complete", "start_time": end, "finish_time": end, "success": True, "result": 3}
    written: list[str] = []

    def worker_writes_first(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if sql.startswith("UPDATE") and JobRecord._meta.db_table in sql and not written:
            written.append(sql)
            update_records("default", "default", {record.job_id: done}, end)
        return execute(sql, params, many, context)

    try:
        with connection.execute_wrapper(worker_writes_first):
            response = run_action(superuser_client, "refresh_jobs", record)
    finally:
        redis_client.delete(f"arq:in-progress:{record.job_id}")
    assert written
    assert texts(response) == [
        "Not refreshed: a worker updated the record after it was read; it is kept as the worker wrote "
        f"it: tests.jobs.add [{record.job_id}]"
    ]
    record.refresh_from_db()
    assert (record.status, record.success, record.result, record.finish_time) == ("complete", True, 3, end)


# -- retry -----------------------------------------------------------------------------------


@pytest.mark.parametrize("via", ["action", "button"])
def test_retry_enqueues_a_linked_copy(
    via: str, superuser_client: Client, worker_queue: str, redis_client: redis.Redis
) -> None:
    record = enqueue(worker_queue, "tests.jobs.fail", "once")
    wait_for(lambda: _finished(get_queue(), record), timeout=10)
    run_action(superuser_client, "refresh_jobs", record)
    response = (
        run_action(superuser_client, "retry_jobs", record)
        if via == "action"
        else press(superuser_client, "retry", record)
    )
    message = texts(response)[-1]
    retry = JobRecord.objects.get(retry_of=record)
    assert message == f"Retried: tests.jobs.fail [{record.job_id}] as job {retry.job_id}"
    assert (retry.name, retry.args, retry.queue_name, retry.alias) == (
        "tests.jobs.fail",
        ["once"],
        worker_queue,
        "default",
    )
    assert retry.job_id != record.job_id
    wait_for(lambda: _finished(get_queue(), retry), timeout=10)  # the worker ran the copy
    result = get_queue().get_job_result_sync(retry.job_id, worker_queue)
    assert result.args == ("once",) and result.success is False


def test_retry_from_record_when_redis_forgot_the_job(
    superuser_client: Client,
    queue_name: str,
    make_record: Callable[..., JobRecord],
    redis_client: redis.Redis,
) -> None:
    old = make_record(name="tests.jobs.echo", args=["<b>", 2], kwargs={"k": [1]}, status="complete",
                      success=True, queue_name=queue_name)  # fmt: skip
    lossy = make_record(
        args=[{"repr": "<object at 0x1>"}], status="complete", success=True, queue_name=queue_name
    )
    running = make_record(status="in_progress", queue_name=queue_name)
    messages = texts(run_action(superuser_client, "retry_jobs", old, lossy, running))
    retry = JobRecord.objects.get(retry_of=old)
    assert any(m.startswith("Retried") and retry.job_id in m for m in messages)
    meta = get_queue().get_job_metadata_sync(retry.job_id, queue_name)
    assert (meta.name, meta.args, meta.kwargs, meta.status.value) == (
        "tests.jobs.echo",
        ("<b>", 2),
        {"k": [1]},
        "queued",
    )
    assert any(m.startswith("Not retried: Redis no longer has") and lossy.job_id in m for m in messages)
    assert any(m.startswith("Not retried: only finished") and running.job_id in m for m in messages)
    assert not JobRecord.objects.filter(retry_of__in=[lossy, running]).exists()
    assert redis_client.zcard(queue_name) == 1


# -- refused: view-only staff, anonymous -----------------------------------------------------

ACTIONS = ["abort_jobs", "refresh_jobs", "retry_jobs"]
BUTTONS = ["abort", "refresh", "retry"]


def _snapshot(record: JobRecord, redis_client: redis.Redis) -> tuple[Any, ...]:
    record.refresh_from_db()
    return (
        record.status,
        record.abort_requested_at,
        record.updated_at,
        JobRecord.objects.count(),
        redis_client.zscore(record.queue_name, record.job_id),
        redis_client.zscore(abort_jobs_ss, record.job_id),
        redis_client.zcard(record.queue_name),
    )


@pytest.mark.parametrize("action", ACTIONS)
def test_view_only_staff_cannot_run_actions(
    action: str, viewer_client: Client, queue_name: str, redis_client: redis.Redis
) -> None:
    record = enqueue(queue_name, "tests.jobs.add", 1, 2)
    finished = JobRecord.objects.filter(pk=record.pk)
    finished.update(status="complete", success=True)  # so that retry would act if it were allowed
    before = _snapshot(record, redis_client)
    response = run_action(viewer_client, action, record)
    assert response.status_code == 200  # the list again: the action is not among the user's choices
    assert f'value="{action}"' not in response.content.decode()
    assert not any(record.job_id in m for m in texts(response))
    assert _snapshot(record, redis_client) == before
    assert redis_client.zscore(abort_jobs_ss, record.job_id) is None


@pytest.mark.parametrize("button", BUTTONS)
def test_view_only_staff_cannot_press_buttons(
    button: str, viewer_client: Client, queue_name: str, redis_client: redis.Redis
) -> None:
    record = enqueue(queue_name, "tests.jobs.add", 1, 2)
    JobRecord.objects.filter(pk=record.pk).update(status="complete", success=True)
    before = _snapshot(record, redis_client)
    assert press(viewer_client, button, record).status_code == 403
    assert _snapshot(record, redis_client) == before


@pytest.mark.parametrize("button", BUTTONS)
def test_anonymous_is_sent_to_login(
    button: str, client: Client, queue_name: str, redis_client: redis.Redis
) -> None:
    record = enqueue(queue_name, "tests.jobs.add", 1, 2)
    JobRecord.objects.filter(pk=record.pk).update(status="complete", success=True)
    before = _snapshot(record, redis_client)
    for response in (press(client, button, record), run_action(client, f"{button}_jobs", record)):
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    assert _snapshot(record, redis_client) == before


def test_operator_without_superuser_can_operate(operator_client: Client, queue_name: str) -> None:
    record = enqueue(queue_name, "tests.jobs.add", 1, 2)
    response = press(operator_client, "abort", record)
    assert response.status_code == 302 and texts(response)[0].startswith("Abort requested")
    record.refresh_from_db()
    assert record.abort_requested_by == "operator"


def test_buttons_need_post(superuser_client: Client, queue_name: str) -> None:
    record = enqueue(queue_name, "tests.jobs.add", 1, 2)
    for button in BUTTONS:
        url = reverse(f"admin:django_arq_jobrecord_{button}", args=[record.pk])
        assert superuser_client.get(url).status_code == 405
    assert superuser_client.post(reverse("admin:django_arq_jobrecord_abort", args=[10**9])).status_code == 404
    assert superuser_client.post("/admin/django_arq/jobrecord/not-a-number/abort/").status_code == 404


def test_buttons_check_csrf(queue_name: str, db: None) -> None:
    from django.contrib.auth.models import User

    client = Client(enforce_csrf_checks=True)
    client.force_login(User.objects.create_superuser("csrf", password="pw"))
    record = enqueue(queue_name, "tests.jobs.add", 1, 2)
    assert press(client, "abort", record).status_code == 403
    record.refresh_from_db()
    assert record.abort_requested_at is None


def test_aborts_share_one_deadline(
    superuser_client: Client, queue_name: str, redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django_arq.admin.jobs import JobRecordAdmin

    monkeypatch.setattr("django_arq.admin.actions.CONCURRENCY", 5)
    monkeypatch.setattr(JobRecordAdmin, "abort_timeout", 0.5)
    records = [enqueue(queue_name, "tests.jobs.add", i, i) for i in range(60)]
    started = time.monotonic()
    messages = texts(run_action(superuser_client, "abort_jobs", *records))
    elapsed = time.monotonic() - started
    assert elapsed < 3, elapsed  # 12 rounds of 5 jobs, each waiting 0.5 s, would take 6 s
    assert len(messages) == 1 and messages[0].startswith("Abort requested") and "and 50 more" in messages[0]
    assert JobRecord.objects.filter(abort_requested_by="root").count() == 60
    assert all(redis_client.zscore(abort_jobs_ss, r.job_id) is not None for r in records)
    redis_client.zrem(abort_jobs_ss, *[r.job_id for r in records])


def test_too_large_a_selection_is_refused(
    superuser_client: Client, queue_name: str, redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django_arq.admin.jobs import JobRecordAdmin

    monkeypatch.setattr(JobRecordAdmin, "max_selection", 2)
    records = [enqueue(queue_name, "tests.jobs.add", i, i) for i in range(3)]
    assert texts(run_action(superuser_client, "abort_jobs", *records)) == [
        "Select at most 2 jobs at a time; nothing was done."
    ]
    assert not JobRecord.objects.filter(abort_requested_at__isnull=False).exists()
    assert redis_client.zcard(queue_name) == 3 and not any(
        redis_client.zscore(abort_jobs_ss, r.job_id) for r in records
    )


def test_refresh_reads_unfinished_states(
    superuser_client: Client, queue_name: str, redis_client: redis.Redis
) -> None:
    running = enqueue(queue_name, "tests.jobs.add", 1, 1)
    redis_client.psetex(f"arq:in-progress:{running.job_id}", 60_000, b"1")
    later = get_queue().enqueue_sync("tests.jobs.add", 2, 2, _queue_name=queue_name, _defer_by=600)
    deferred = JobRecord.objects.get(job_id=later.id)
    JobRecord.objects.filter(pk=deferred.pk).update(status="queued")
    run_action(superuser_client, "refresh_jobs", running, deferred)
    running.refresh_from_db()
    deferred.refresh_from_db()
    assert (running.status, deferred.status) == ("in_progress", "deferred")


def test_unreadable_payload_is_reported_per_job(
    superuser_client: Client, queue_name: str, redis_client: redis.Redis
) -> None:
    broken, fine = enqueue(queue_name, "tests.jobs.add", 1, 1), enqueue(queue_name, "tests.jobs.add", 2, 2)
    redis_client.set(f"arq:job:{broken.job_id}", b"not a pickle", keepttl=True)
    messages = texts(run_action(superuser_client, "refresh_jobs", broken, fine))
    assert any(m.startswith("Failed: ") and broken.job_id in m and "Deserialization" in m for m in messages)
    assert f"Refreshed from Redis: tests.jobs.add [{fine.job_id}]" in messages


def test_retry_without_audit_creates_the_record(
    superuser_client: Client, queue_name: str, make_record: Callable[..., JobRecord]
) -> None:
    from django.conf import settings

    plain = {**settings.ARQ_QUEUES["default"], "AUDIT": False}
    with override_settings(ARQ_QUEUES={**settings.ARQ_QUEUES, "plain": plain}):
        old = make_record(alias="plain", status="complete", success=False, queue_name=queue_name, args=[3, 4])
        response = run_action(superuser_client, "retry_jobs", old)
    retry = JobRecord.objects.get(retry_of=old)
    assert texts(response) == [f"Retried: tests.jobs.add [{old.job_id}] as job {retry.job_id}"]
    assert (retry.alias, retry.name, retry.args, retry.status) == (
        "plain",
        "tests.jobs.add",
        [3, 4],
        "queued",
    )
    assert get_queue().get_job_metadata_sync(retry.job_id, queue_name).args == (3, 4)


def test_retry_with_redis_down(superuser_client: Client, make_record: Callable[..., JobRecord]) -> None:
    from django.conf import settings

    down = {"BACKEND": "django_arq.RedisArqQueue", "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}
    with override_settings(ARQ_QUEUES={**settings.ARQ_QUEUES, "down": down}):
        old = make_record(alias="down", status="complete", success=True)
        (message,) = texts(run_action(superuser_client, "retry_jobs", old))
    assert message.startswith("Redis unavailable: ") and old.job_id in message
    assert not JobRecord.objects.filter(retry_of=old).exists()


def test_refresh_stores_a_result_of_unstorable_text_and_goes_on(
    superuser_client: Client, worker_queue: str
) -> None:
    """NUL and lone surrogates, which PostgreSQL refuses and UTF-8 cannot write, are stored as
    U+FFFD as the audit layer stores them; before, the action stopped at the first such record."""
    records = [enqueue(worker_queue, "tests.jobs.echo", text) for text in ("nul\x00", "lone\ud800", "fine")]
    wait_for(lambda: all(_finished(get_queue(), r) for r in records), timeout=10)
    response = run_action(superuser_client, "refresh_jobs", *records)
    assert response.status_code == 302
    (refreshed,) = [m for m in texts(response) if m.startswith("Refreshed from Redis")]
    assert all(r.job_id in refreshed for r in records), texts(response)
    stored = [JobRecord.objects.get(pk=r.pk).result["args"] for r in records]
    assert stored == [["nul\ufffd"], ["lone\ufffd"], ["fine"]]
    for record in records:
        page = superuser_client.get(reverse("admin:django_arq_jobrecord_change", args=[record.pk]))
        assert page.status_code == 200


def test_retry_reports_a_record_it_cannot_retry_and_retries_the_others(
    superuser_client: Client, queue_name: str, make_record: Callable[..., JobRecord]
) -> None:
    good = make_record(status="complete", success=True, queue_name=queue_name)
    gone = make_record(status="complete", success=True, alias="removed-since", queue_name=queue_name)
    odd = make_record(status="complete", success=True, kwargs=[1], queue_name=queue_name)
    response = run_action(superuser_client, "retry_jobs", gone, odd, good)
    assert response.status_code == 302
    messages = texts(response)
    assert any(m.startswith("Failed: ") and gone.job_id in m and "removed-since" in m for m in messages)
    assert any(
        m.startswith("Not retried: ") and odd.job_id in m and "kwargs a JSON object" in m for m in messages
    )
    retry = JobRecord.objects.get(retry_of=good)
    assert get_queue().get_job_metadata_sync(retry.job_id, queue_name).args == (1, 2)
    assert not JobRecord.objects.filter(retry_of__in=[gone, odd]).exists()


def test_a_retry_enqueued_but_not_linked_says_so(
    superuser_client: Client,
    queue_name: str,
    make_record: Callable[..., JobRecord],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The copy is in Redis: "failed" would invite a second retry."""
    from django.db import DatabaseError

    from django_arq.admin import actions

    def refused(*args: Any) -> None:
        raise DatabaseError("refused")

    monkeypatch.setattr(actions, "link_retry", refused)
    record = make_record(status="complete", success=True, queue_name=queue_name)
    (message,) = texts(run_action(superuser_client, "retry_jobs", record))
    assert message.startswith(f"Retried: tests.jobs.add [{record.job_id}] as job ")
    assert message.endswith(" (not linked to this record: refused)")
    job_id = message.split(" as job ")[1].split(" ")[0]
    assert get_queue().get_job_metadata_sync(job_id, queue_name).args == (1, 2)
