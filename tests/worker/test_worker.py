"""``manage.py arq_worker`` as a real process: jobs run, and their JobRecords follow them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from arq import create_pool
from django.contrib.auth.models import Group
from django.db import connection

from django_arq import JobSpec, get_queue
from django_arq.audit.recorder import ABORTED, MAX_BACKOFF
from django_arq.audit.writer import flush_records
from django_arq.models import JobRecord
from tests.helpers import ROOT, wait_for
from tests.worker.conftest import WorkerRunner, audited

pytestmark = pytest.mark.django_db(transaction=True)


def record(job_id: str) -> JobRecord:
    flush_records()  # the enqueue's own record may still be with the background writer
    return JobRecord.objects.get(job_id=job_id)


def test_success_failure_and_retry(workers: WorkerRunner) -> None:
    queue = get_queue()
    q = workers.queue_name
    ok = queue.enqueue_sync("tests.jobs.add", 2, 3, _queue_name=q)
    bad = queue.enqueue_sync("tests.jobs.fail", "boom", _queue_name=q)
    again = queue.enqueue_sync("tests.worker.jobs.retry_once", _queue_name=q)
    output = workers.burst()
    assert "tests.worker.jobs.retry_once" in output.splitlines()[1]  # the banner lists the functions

    done = record(ok.id)
    assert (done.status, done.success, done.result, done.job_try, done.error) == ("complete", True, 5, 1, "")
    assert done.start_time and done.finish_time
    assert done.enqueue_time <= done.start_time <= done.finish_time

    failed = record(bad.id)
    assert (failed.status, failed.success, failed.job_try) == ("complete", False, 1)
    assert failed.result == {"exception": "builtins.ValueError", "message": "boom"}
    assert "Traceback" in failed.error and "ValueError: boom" in failed.error

    retried = record(again.id)
    assert (retried.status, retried.success, retried.result, retried.job_try) == ("complete", True, 2, 2)


def test_sync_job_uses_the_orm_with_fresh_connections(workers: WorkerRunner) -> None:
    ids = [
        get_queue()
        .enqueue_sync("tests.worker.jobs.create_group", f"group-{i}", _queue_name=workers.queue_name)
        .id
        for i in range(12)
    ]
    workers.burst("--max-jobs", "3")
    records = list(JobRecord.objects.filter(job_id__in=ids))
    assert [r.success for r in records] == [True] * 12, [r.error for r in records]
    assert all(
        r.result and r.result["fresh_connection"] for r in records
    )  # closed after each job, as after a request
    assert Group.objects.filter(name__startswith="group-").count() == 12


async def test_job_from_a_plain_arq_client_gets_a_record(workers: WorkerRunner) -> None:
    pool = await create_pool(audited().redis_settings)
    try:
        job = await pool.enqueue_job("tests.jobs.echo", 1, x="y", _queue_name=workers.queue_name)
    finally:
        await pool.aclose()
    assert job is not None
    assert not await JobRecord.objects.filter(job_id=job.job_id).aexists()
    from asgiref.sync import sync_to_async

    await sync_to_async(workers.burst)()
    rec = await JobRecord.objects.aget(job_id=job.job_id)
    assert (rec.name, rec.args, rec.kwargs, rec.alias, rec.queue_name) == (
        "tests.jobs.echo", [1], {"x": "y"}, "default", workers.queue_name,
    )  # fmt: skip
    assert rec.result == {"args": [1], "kwargs": {"x": "y"}, "job_try": 1}


def test_abort_of_a_running_job(workers: WorkerRunner) -> None:
    process = workers.start()
    queue = get_queue()
    meta = queue.enqueue_sync("tests.jobs.sleep_for", 30, _queue_name=workers.queue_name)
    wait_for(lambda: record(meta.id).status == "in_progress", timeout=10)
    assert queue.abort_job_sync(meta.id, workers.queue_name, timeout=10) is True
    wait_for(lambda: record(meta.id).status == "complete", timeout=10)
    rec = record(meta.id)
    assert (rec.success, rec.error) == (False, ABORTED)
    assert rec.abort_requested_at is not None
    assert rec.result == {"exception": "asyncio.exceptions.CancelledError", "message": ""}
    assert process.proc.poll() is None


def test_aborted_before_start(workers: WorkerRunner) -> None:
    queue = get_queue()
    meta = queue.enqueue_sync("tests.jobs.add", 1, 1, _queue_name=workers.queue_name)
    with pytest.raises(TimeoutError):  # no worker yet: the request stays for the next worker
        queue.abort_job_sync(meta.id, workers.queue_name, timeout=0.05)
    workers.burst()
    rec = record(meta.id)
    assert (rec.status, rec.success, rec.error) == ("complete", False, ABORTED)


def test_sigterm_stops_cleanly_and_requeues(workers: WorkerRunner) -> None:
    process = workers.start()
    meta = get_queue().enqueue_sync("tests.jobs.sleep_for", 30, _queue_name=workers.queue_name)
    wait_for(lambda: record(meta.id).status == "in_progress", timeout=10)
    started = time.monotonic()
    assert process.stop(signal.SIGTERM, timeout=10) == 0, process.output()
    assert time.monotonic() - started < 5
    assert "shutdown on SIGTERM" in process.output()
    assert "worker stopped" in process.output()
    rec = record(meta.id)  # written by the last flush: back in the queue for the next worker
    assert (rec.status, rec.job_try) == ("queued", 1)


@pytest.mark.slow
def test_killed_worker_job_runs_again(workers: WorkerRunner, redis_client) -> None:  # type: ignore[no-untyped-def]
    """SIGKILL mid-job: after arq's in-progress timeout (JOB_TIMEOUT + 10 s) another worker runs it again."""
    first = workers.start("--job-timeout", "2")
    meta = get_queue().enqueue_sync("tests.jobs.sleep_for", 0.5, _queue_name=workers.queue_name, _job_id=None)
    wait_for(lambda: record(meta.id).status == "in_progress", timeout=10)
    first.kill()
    assert redis_client.exists(f"arq:in-progress:{meta.id}")
    workers.start("--job-timeout", "2")
    wait_for(lambda: record(meta.id).status == "complete", timeout=30, interval=0.2)
    rec = record(meta.id)
    assert (rec.success, rec.result, rec.job_try) == (True, "slept", 2)


def test_worker_refuses_a_mock_alias() -> None:
    import subprocess
    import sys

    from tests.helpers import ROOT

    done = subprocess.run(
        [sys.executable, "-m", "django", "arq_worker", "--alias", "mock", "--settings", "tests.settings"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert "has no Redis for a worker" in done.stderr
    assert "django_arq.MockArqQueue" in done.stderr


def test_records_survive_a_database_outage(workers: WorkerRunner) -> None:
    """The table vanishes while jobs run: the worker keeps the updates and writes them once it is back."""
    process = workers.start()
    first = get_queue().enqueue_sync("tests.jobs.add", 1, 1, _queue_name=workers.queue_name)
    wait_for(lambda: record(first.id).status == "complete", timeout=10)
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE django_arq_jobrecord RENAME TO django_arq_jobrecord_away")
    try:
        specs = [JobSpec("tests.jobs.add", (i, 1), queue_name=workers.queue_name) for i in range(5)]
        later = [m.id for m in audited().backend.enqueue_many_sync(specs)]  # no record: the table is away
        wait_for(lambda: "could not write" in process.output(), timeout=10)
        time.sleep(0.5)  # more failed tries
    finally:
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE django_arq_jobrecord_away RENAME TO django_arq_jobrecord")
    # the recorder retries with a growing backoff: on a busy machine it may be at its longest
    complete = JobRecord.objects.filter(job_id__in=later, status="complete")
    wait_for(lambda: complete.count() == 5, timeout=MAX_BACKOFF + 30, interval=0.1)
    results = JobRecord.objects.filter(job_id__in=later).values_list("result", flat=True)
    assert sorted(results, key=str) == [1, 2, 3, 4, 5]


def test_timeout_is_recorded_as_a_failure(workers: WorkerRunner) -> None:
    meta = get_queue().enqueue_sync("tests.jobs.sleep_for", 5, _queue_name=workers.queue_name)
    workers.burst("--job-timeout", "0.3")
    rec = record(meta.id)
    assert (rec.status, rec.success, rec.job_try) == ("complete", False, 1)
    assert "timed out" in rec.error
    assert rec.result and rec.result["exception"] == "builtins.TimeoutError"


SCRIPT_ENQUEUES_AND_EXITS = """
import django
django.setup()
from django_arq import JobSpec, get_queue
queue = get_queue()
print(queue.enqueue_sync("tests.jobs.add", 1, 2, _queue_name={q!r}).id)
specs = [JobSpec("tests.jobs.add", (i, i), queue_name={q!r}) for i in range(50)]
print(*(m.id for m in queue.enqueue_many_sync(specs)))
"""


def test_a_process_that_exits_right_after_enqueueing_leaves_its_records(workers: WorkerRunner) -> None:
    """The background writer's rows are written at interpreter exit, not lost with its daemon thread."""
    script = SCRIPT_ENQUEUES_AND_EXITS.format(q=workers.queue_name)
    done = subprocess.run(
        [sys.executable, "-c", script], env={**os.environ, **workers.env()}, cwd=ROOT,
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    ids = done.stdout.split()
    assert len(ids) == 51, done.stdout + done.stderr
    assert JobRecord.objects.filter(job_id__in=ids, status="queued").count() == 51
