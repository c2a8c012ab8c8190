"""Per-function options on a real worker: retries with backoff on the configured exceptions only,
the record showing each try, MAX_TRIES, TIMEOUT and KEEP_RESULT from a FUNCTIONS dict."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from typing import Any

import pytest
import redis
from django.utils import timezone

from django_arq import get_queue
from django_arq.audit.tries import try_status
from django_arq.audit.writer import flush_records
from django_arq.models import JobRecord
from tests.helpers import wait_for
from tests.worker.conftest import WorkerRunner
from tests.worker.options import OPTIONED_FUNCTIONS

pytestmark = pytest.mark.django_db(transaction=True)

#: How much later than arq's re-queue a try's end may be stamped (see the backoff test).
RECORDED_LATE = timedelta(seconds=0.1)


@pytest.fixture(autouse=True)
def _functions_known(settings: Any) -> None:
    """The test process knows the workers' FUNCTIONS: the enqueues pass, ``try_status`` finds MAX_TRIES."""
    queues = copy.deepcopy(settings.ARQ_QUEUES)
    worker = queues["default"].setdefault("WORKER", {})
    worker["FUNCTIONS"] = [*worker.get("FUNCTIONS", []), *OPTIONED_FUNCTIONS]
    settings.ARQ_QUEUES = queues


def record(job_id: str) -> JobRecord:
    flush_records()
    return JobRecord.objects.get(job_id=job_id)


def times(entries: list[dict[str, object]]) -> list[datetime]:
    return [datetime.fromisoformat(str(e["time"])) for e in entries]


def test_retried_with_backoff_on_the_configured_exception(workers: WorkerRunner) -> None:
    job = get_queue().enqueue_sync("tests.worker.jobs.flaky", "connection", 3, _queue_name=workers.queue_name)
    workers.burst()  # a burst waits for the retries of its jobs
    done = record(job.id)
    assert (done.status, done.success, done.result, done.job_try) == ("complete", True, 3, 3)
    assert [(e["try"], e["error"], e["lost"]) for e in done.try_errors] == [
        (1, "ConnectionError: try 1 failed", False),
        (2, "ConnectionError: try 2 failed", False),
    ]
    first, second = times(done.try_errors)
    # BASE 0.2 after try 1, then 0.4 (MAX) after try 2, no jitter. arq re-queues a try at its own
    # clock; the worker stamps the try's end a Redis round trip later, and a loaded machine can
    # stretch that, so each gap may fall short of its delay by that much (RECORDED_LATE), never more.
    assert second - first >= timedelta(seconds=0.2) - RECORDED_LATE
    assert done.finish_time - second >= timedelta(seconds=0.4) - RECORDED_LATE
    assert done.next_try_at is None
    assert try_status(done) == "succeeded on try 3 of 3"


def test_other_exceptions_are_not_retried(workers: WorkerRunner) -> None:
    job = get_queue().enqueue_sync("tests.worker.jobs.flaky", "value", 3, _queue_name=workers.queue_name)
    workers.burst()
    done = record(job.id)
    assert (done.status, done.success, done.job_try, done.try_errors) == ("complete", False, 1, [])
    assert done.result == {"exception": "builtins.ValueError", "message": "try 1 failed"}
    assert try_status(done) == ""


def test_max_tries_reached_fails_with_every_error_kept(workers: WorkerRunner) -> None:
    job = get_queue().enqueue_sync(
        "tests.worker.jobs.flaky", "connection", 99, _queue_name=workers.queue_name
    )
    workers.burst()
    done = record(job.id)
    assert (done.status, done.success, done.job_try) == ("complete", False, 3)
    # the last try fails with the job's own exception, not arq's "max retries exceeded"
    assert done.result == {"exception": "builtins.ConnectionError", "message": "try 3 failed"}
    assert "ConnectionError: try 3 failed" in done.error
    assert [e["error"] for e in done.try_errors] == [f"ConnectionError: try {n} failed" for n in (1, 2, 3)]
    assert try_status(done) == "failed on try 3 of 3"


def test_a_waiting_retry_shows_when_it_runs(workers: WorkerRunner) -> None:
    workers.start()
    before = timezone.now()
    job = get_queue().enqueue_sync("tests.worker.jobs.retry_later", _queue_name=workers.queue_name)
    waiting = wait_for(lambda: (r := record(job.id)).next_try_at is not None and r, timeout=30)
    assert (waiting.status, waiting.job_try) == ("deferred", 1)
    assert (
        before + timedelta(seconds=3600 * 0.9) <= waiting.next_try_at <= timezone.now() + timedelta(hours=1.1)
    )
    clock = timezone.localtime(waiting.next_try_at).strftime("%H:%M:%S")
    status = try_status(waiting)
    assert status.startswith("retrying, try 2 of 4, next at ") and clock in status
    assert [e["error"] for e in waiting.try_errors] == ["ConnectionError: the shop's API is down"]


def test_timeout_and_keep_result_from_the_dict(workers: WorkerRunner, redis_client: redis.Redis) -> None:
    queue = get_queue()
    slow = queue.enqueue_sync("tests.worker.jobs.slow", 30, _queue_name=workers.queue_name)
    quick = queue.enqueue_sync("tests.worker.jobs.slow", 0, _queue_name=workers.queue_name)
    workers.burst()  # returns well before the 30 s the slow job would take (the burst's own timeout: 60 s)
    killed = record(slow.id)
    assert (killed.status, killed.success) == ("complete", False)
    assert "TimeoutError" in killed.error and "0.5" in killed.error
    ttl = redis_client.pttl(f"arq:result:{quick.id}")
    assert 100_000 < ttl <= 120_000  # KEEP_RESULT 120 s, not the worker's hour
