"""Threads a job leaves running cannot keep ``arq_worker`` from exiting: they are named and abandoned."""

from __future__ import annotations

import pytest
import redis

from django_arq import get_queue
from tests.helpers import Process, wait_for
from tests.worker.conftest import WorkerRunner

pytestmark = pytest.mark.django_db(transaction=True)

#: Seconds a stopping worker may take, at most, on a busy machine (it abandons the threads after a
#: few seconds; the old one waited for them, an hour).
STOP_TIMEOUT = 120


def running(redis_client: redis.Redis, job_id: str) -> bool:
    """Whether the job's hour-long sleep (in its thread, or itself) has begun."""
    return bool(redis_client.exists(f"{job_id}:running"))


def test_a_thread_a_job_leaves_running_is_named_and_abandoned_at_sigterm(
    workers: WorkerRunner, redis_client: redis.Redis
) -> None:
    process = workers.start()
    job_id = (
        get_queue()
        .enqueue_sync("tests.worker.jobs.leave_thread", "lingerer-7", _queue_name=workers.queue_name)
        .id
    )
    wait_for(lambda: running(redis_client, job_id) or process.proc.poll() is not None, timeout=30)

    assert process.stop(timeout=STOP_TIMEOUT) == 1, process.output()
    warnings = [line for line in process.output().splitlines() if "abandoned" in line]
    assert len(warnings) == 1, process.output()
    assert "'lingerer-7' (tests.worker.jobs._linger)" in warnings[0]


def test_a_sync_job_that_outlives_its_cancellation_is_named_and_abandoned(
    workers: WorkerRunner, redis_client: redis.Redis
) -> None:
    process = workers.start()
    job_id = (
        get_queue().enqueue_sync("tests.worker.jobs.sync_sleep_an_hour", _queue_name=workers.queue_name).id
    )
    wait_for(lambda: running(redis_client, job_id) or process.proc.poll() is not None, timeout=30)

    assert process.stop(timeout=STOP_TIMEOUT) == 1, process.output()
    assert f"(job {job_id} tests.worker.jobs.sync_sleep_an_hour)" in process.output()


def test_a_burst_ends_with_status_1_when_a_job_left_a_thread(workers: WorkerRunner) -> None:
    get_queue().enqueue_sync("tests.worker.jobs.leave_thread", "lingerer-8", _queue_name=workers.queue_name)
    process = Process(workers.args("--burst"), env=workers.env())
    workers.processes.append(process)

    process.proc.wait(STOP_TIMEOUT)
    assert process.proc.returncode == 1, process.output()
    assert "'lingerer-8' (tests.worker.jobs._linger)" in process.output()
