"""Sync tasks in a real worker: they run in its job threads (``max_jobs`` of them, as sync job
functions do), not the event loop's default pool; a job cancelled while its thread runs the
task ends as the cancellation says."""

from __future__ import annotations

import json
import os
import uuid

import pytest
import redis
from django.tasks import TaskResultStatus

from tests.tasks import sample_tasks
from tests.tasks.settings import TASKS_QUEUE
from tests.tasks.support import run_burst_worker, wait_finished

#: The arq queue of Django queue "other": burst workers of its own, apart from the session's.
OTHER = f"{TASKS_QUEUE}:other"
#: More than the event loop's default pool has threads (``min(32, cpus + 4)``).
MORE_THAN_THE_LOOPS_POOL = min(32, (os.cpu_count() or 1) + 4) + 2


@pytest.mark.usefixtures("task_worker")
def test_a_sync_task_runs_in_one_of_the_workers_job_threads() -> None:
    result = wait_finished(sample_tasks.thread_name.enqueue())
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value.startswith("django-arq-job")


def test_as_many_sync_tasks_run_at_once_as_the_worker_has_job_slots() -> None:
    key, count = f"{TASKS_QUEUE}:meet:{uuid.uuid4().hex}", MORE_THAN_THE_LOOPS_POOL
    meeting = sample_tasks.meet.using(queue_name="other")
    results = [meeting.enqueue(key, count, 10) for _ in range(count)]
    run_burst_worker(queue=OTHER, options=["--max-jobs", str(count), "--job-timeout", "60"])
    for result in results:
        result.refresh()
    assert [(r.status, r.return_value) for r in results] == [(TaskResultStatus.SUCCESSFUL, count)] * count


def test_a_sync_task_whose_job_timed_out_sends_no_task_finished(redis_client: redis.Redis) -> None:
    """The thread runs on after the timeout; the task returns then, but the run has ended."""
    result = sample_tasks.sync_sleep.using(queue_name="other").enqueue(3)
    run_burst_worker(queue=OTHER, options=["--job-timeout", "1"])  # exits once the thread is done
    result.refresh()
    assert result.status == TaskResultStatus.FAILED
    assert [e.exception_class_path for e in result.errors] == ["builtins.TimeoutError"]
    entries = [json.loads(e) for e in redis_client.lrange(sample_tasks.SIGNALS_KEY, 0, -1)]
    assert [(e["signal"], e["status"]) for e in entries if e["id"] == result.id] == [
        ("task_started", "RUNNING")
    ]
