"""Heartbeats and lost-job recovery with real workers and real signals: a worker SIGKILLed mid-job
has its job run again by a live worker within ``LOST_AFTER`` (not arq's in-progress timeout), a
slow job on a live worker is never taken, and racing recoveries re-queue each job exactly once."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator

import pytest
import redis
from django.core.management import call_command

from django_arq import JobSpec, flush_records, get_queue
from django_arq.models import JobRecord
from tests.helpers import wait_for
from tests.worker.conftest import WorkerRunner

pytestmark = pytest.mark.django_db(transaction=True)

#: The workers' LOST_AFTER in these tests: short, yet far above a beat's delay on a busy machine.
LOST_AFTER = 5.0
MARK = "tests.worker.jobs.mark_and_sleep"


@pytest.fixture(autouse=True)
def _short_lost_after(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DJANGO_ARQ_TEST_LOST_AFTER", str(LOST_AFTER))


@pytest.fixture
def runs_key(redis_client: redis.Redis) -> Iterator[str]:
    """A prefix for the Redis lists on which ``mark_and_sleep`` notes each run."""
    prefix = f"django-arq-tests:runs:{uuid.uuid4().hex[:8]}:"
    yield prefix
    keys = list(redis_client.scan_iter(prefix + "*"))
    if keys:
        redis_client.delete(*keys)


def runs(redis_client: redis.Redis, key: str) -> list[str]:
    return [r.decode() for r in redis_client.lrange(key, 0, -1)]


def beating(redis_client: redis.Redis, queue_name: str, count: int) -> bool:
    return redis_client.zcard(f"django-arq:workers:{queue_name}") >= count


def record(job_id: str) -> JobRecord:
    flush_records()
    return JobRecord.objects.get(job_id=job_id)


def test_sigkilled_worker_job_runs_again_within_lost_after(
    workers: WorkerRunner, redis_client: redis.Redis, runs_key: str
) -> None:
    first = workers.start()
    key = runs_key + "one"
    meta = get_queue().enqueue_sync(MARK, key, 600, _queue_name=workers.queue_name)
    wait_for(lambda: len(runs(redis_client, key)) == 1, timeout=20)
    wait_for(lambda: record(meta.id).worker_id != "", timeout=10)
    lost_id = record(meta.id).worker_id
    assert lost_id.split("-")[-2] == str(first.proc.pid)
    second = workers.start()
    wait_for(lambda: beating(redis_client, workers.queue_name, 2), timeout=10)

    first.kill()
    killed = time.monotonic()
    wait_for(lambda: len(runs(redis_client, key)) == 2, timeout=60, interval=0.05)
    delay = time.monotonic() - killed
    print(f"job re-run {delay:.2f} s after SIGKILL (LOST_AFTER {LOST_AFTER:g} s)")
    # lost once LOST_AFTER passed since the last beat, found at a live worker's next beat (a third
    # of LOST_AFTER later); well under arq's own in-progress timeout (JOB_TIMEOUT + 10 s = 310 s)
    assert delay < 3 * LOST_AFTER + 10
    assert runs(redis_client, key) == [f"{first.proc.pid}:1", f"{second.proc.pid}:2"]

    wait_for(lambda: record(meta.id).status == "complete", timeout=20)
    rec = record(meta.id)
    assert (rec.success, rec.job_try) == (True, 2)
    assert rec.worker_id != lost_id and rec.worker_id.split("-")[-2] == str(second.proc.pid)
    ((entry),) = rec.try_errors
    assert entry["lost"] is True and entry["try"] == 1
    assert entry["error"] == f"worker {lost_id} lost"
    assert f"job {meta.id}: worker {lost_id} lost, re-queued as try 2" in second.output()
    lost = redis_client.hgetall(f"django-arq:worker:{lost_id}")
    assert lost[b"state"] == b"lost"


def test_slow_job_on_a_live_worker_is_never_taken(
    workers: WorkerRunner, redis_client: redis.Redis, runs_key: str
) -> None:
    workers.start()
    key = runs_key + "slow"
    meta = get_queue().enqueue_sync(MARK, key, 4 * LOST_AFTER, _queue_name=workers.queue_name)
    wait_for(lambda: len(runs(redis_client, key)) == 1, timeout=20)
    other = workers.start()
    wait_for(lambda: record(meta.id).status == "complete", timeout=60, interval=0.1)
    rec = record(meta.id)
    assert (rec.success, rec.job_try, rec.try_errors) == (True, 1, [])
    assert len(runs(redis_client, key)) == 1
    assert "lost" not in other.output()


def test_each_job_of_a_dead_worker_is_requeued_once_by_racing_workers(
    workers: WorkerRunner, redis_client: redis.Redis, runs_key: str
) -> None:
    dead = workers.start("--max-jobs", "10")
    keys = [f"{runs_key}{i}" for i in range(6)]
    specs = [JobSpec(MARK, (k, 600), queue_name=workers.queue_name) for k in keys]
    ids = [m.id for m in get_queue().enqueue_many_sync(specs)]
    flush_records()
    wait_for(lambda: all(len(runs(redis_client, k)) == 1 for k in keys), timeout=30)
    live = [workers.start() for _ in range(3)]
    wait_for(lambda: beating(redis_client, workers.queue_name, 4), timeout=20)
    dead.kill()
    wait_for(lambda: JobRecord.objects.filter(job_id__in=ids, status="complete").count() == 6, timeout=60)
    assert all(len(runs(redis_client, k)) == 2 for k in keys)  # once on the dead worker, once after
    requeued = sum(p.output().count("re-queued as try 2") for p in live)
    assert requeued == 6
    assert {len(r.try_errors) for r in JobRecord.objects.filter(job_id__in=ids)} == {1}


def test_check_lists_the_live_workers(workers: WorkerRunner, redis_client: redis.Redis) -> None:
    from io import StringIO

    process = workers.start()
    wait_for(lambda: beating(redis_client, workers.queue_name, 1), timeout=10)
    out = StringIO()
    call_command("arq_worker", "--check", "--queue", workers.queue_name, stdout=out)
    assert f"pid {process.proc.pid} on " in out.getvalue()
    assert "(live, last beat" in out.getvalue()


def test_worker_retires_after_max_jobs_per_process(workers: WorkerRunner, redis_client: redis.Redis) -> None:
    process = workers.start("--max-jobs", "1", "--max-jobs-per-process", "3")
    specs = [JobSpec("tests.jobs.add", (i, 1), queue_name=workers.queue_name) for i in range(5)]
    ids = [m.id for m in get_queue().enqueue_many_sync(specs)]
    flush_records()
    wait_for(lambda: process.proc.poll() is not None, timeout=30)
    assert process.proc.returncode == 0, process.output()
    assert "retired: it ran 3 jobs (max jobs per process 3)" in process.output()
    statuses = sorted(JobRecord.objects.filter(job_id__in=ids).values_list("status", flat=True))
    assert statuses.count("complete") == 3, (statuses, process.output())  # the worker's log if not
    assert redis_client.zcard(workers.queue_name) == 2  # left for the next process
    assert not beating(redis_client, workers.queue_name, 1)  # it left the live workers on its way out


def test_worker_retires_past_max_memory(workers: WorkerRunner, redis_client: redis.Redis) -> None:
    """Any Python process uses more than 1 MB: the first job to end retires the worker."""
    process = workers.start("--max-jobs", "1", "--max-memory", "1")
    specs = [JobSpec("tests.jobs.add", (i, 1), queue_name=workers.queue_name) for i in range(2)]
    get_queue().enqueue_many_sync(specs)
    wait_for(lambda: process.proc.poll() is not None, timeout=30)
    assert process.proc.returncode == 0, process.output()
    assert re.search(r"retired: it uses \d+ MB \(max memory 1 MB\)", process.output()), process.output()
    assert redis_client.zcard(workers.queue_name) == 1


def test_a_lost_job_without_tries_left_fails_instead_of_running_again(
    workers: WorkerRunner, redis_client: redis.Redis, runs_key: str
) -> None:
    first = workers.start("--max-tries", "1")
    key = runs_key + "last"
    meta = get_queue().enqueue_sync(MARK, key, 600, _queue_name=workers.queue_name)
    wait_for(lambda: len(runs(redis_client, key)) == 1, timeout=20)
    workers.start("--max-tries", "1")
    wait_for(lambda: beating(redis_client, workers.queue_name, 2), timeout=10)
    first.kill()
    wait_for(lambda: record(meta.id).status == "complete", timeout=60, interval=0.1)
    rec = record(meta.id)
    assert rec.success is False and "max 1 retries exceeded" in rec.error
    assert [(e["try"], e["lost"]) for e in rec.try_errors] == [(1, True)]
    assert len(runs(redis_client, key)) == 1  # never ran again
