"""``arq_worker --burst`` runs what is due and exits; the worker also runs in-process from async code."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.test.utils import override_settings

from django_arq import JobStatus, get_queue
from django_arq.audit.writer import flush_records
from django_arq.models import JobRecord
from django_arq.worker import create_worker
from tests.worker.conftest import WorkerRunner

pytestmark = pytest.mark.django_db(transaction=True)


def test_burst_exits_while_a_deferred_job_waits(workers: WorkerRunner) -> None:
    queue = get_queue()
    q = workers.queue_name
    due = queue.enqueue_sync("tests.jobs.add", 1, 2, _queue_name=q)
    retried = queue.enqueue_sync("tests.worker.jobs.retry_once", _queue_name=q)  # retried 0.05 s later
    deferred = queue.enqueue_sync("tests.jobs.add", 3, 4, _queue_name=q, _defer_by=3600)
    workers.burst(timeout=60)  # arq's own rule would wait an hour for the deferred job

    flush_records()
    assert JobRecord.objects.get(job_id=due.id).result == 3
    assert JobRecord.objects.get(job_id=retried.id).result == 2  # a retry of this run is run by it
    assert queue.get_job_metadata_sync(deferred.id, q).status == JobStatus.deferred  # left for later
    assert JobRecord.objects.get(job_id=deferred.id).status == "deferred"


@pytest.fixture
def in_process(queue_name: str) -> Iterator[str]:
    """The default alias with a job and a shutdown hook using the async ORM; a private queue."""
    from django.conf import settings

    queues: dict[str, Any] = settings.ARQ_QUEUES
    functions = ["tests.jobs.add", "tests.worker.jobs.count_groups"]
    worker = {
        "FUNCTIONS": functions,
        "POLL_DELAY": 0.02,
        "ON_SHUTDOWN": "tests.worker.jobs.count_groups_on_shutdown",  # async ORM in close()
    }
    alias = {**queues["default"], "WORKER": worker}
    with override_settings(ARQ_QUEUES={**queues, "default": alias}):
        yield queue_name


def enqueue_orm_job(queue_name: str) -> str:
    prefix = f"in-process-{uuid.uuid4().hex[:8]}"
    Group.objects.create(name=f"{prefix}-a")
    return get_queue().enqueue_sync("tests.worker.jobs.count_groups", prefix, _queue_name=queue_name).id


def assert_ran(job_id: str, queue_name: str) -> None:
    result = get_queue().get_job_result_sync(job_id, queue_name)
    assert (result.success, result.result) == (True, 1), result.result


async def test_call_command_through_sync_to_async(in_process: str) -> None:
    job_id = await sync_to_async(enqueue_orm_job)(in_process)
    await sync_to_async(call_command)("arq_worker", "--burst", "--queue", in_process, verbosity=0)
    await sync_to_async(assert_ran)(job_id, in_process)


def test_call_command_from_async_code_under_async_to_sync(in_process: str) -> None:
    """The sync caller's thread is asgiref's CurrentThreadExecutor, where the command then runs."""
    job_id = enqueue_orm_job(in_process)

    async def run() -> None:
        await sync_to_async(call_command)("arq_worker", "--burst", "--queue", in_process, verbosity=0)

    async_to_sync(run)()
    assert_ran(job_id, in_process)


async def test_async_run_on_the_callers_loop(in_process: str) -> None:
    job_id = await sync_to_async(enqueue_orm_job)(in_process)
    worker = create_worker(queue_name=in_process, burst=True, handle_signals=False)
    try:
        await worker.async_run()
    finally:
        await worker.close()
    await sync_to_async(assert_ran)(job_id, in_process)


async def test_async_run_in_a_loop_of_a_thread_of_sync_to_async(in_process: str) -> None:
    """asyncio.run() in code that sync_to_async runs: that thread is asgiref's thread-sensitive one."""
    job_id = await sync_to_async(enqueue_orm_job)(in_process)

    async def main() -> dict[str, Any]:
        worker = create_worker(queue_name=in_process, burst=True, handle_signals=False)
        try:
            await worker.async_run()
        finally:
            await worker.close()  # the caller's, as arq leaves it: the hook still has a thread of its own
        return worker.ctx

    ctx = await sync_to_async(asyncio.run)(main())
    await sync_to_async(assert_ran)(job_id, in_process)
    assert ctx["groups_at_shutdown"] >= 1


async def test_a_burst_worker_takes_the_next_job_when_a_slot_frees_not_at_the_next_poll(
    in_process: str,
) -> None:
    """One slot, a poll interval far longer than the jobs: each job starts when the previous one
    ends (a burst worker that slept a poll between two jobs took at least 2 x 30 s here)."""
    queue = get_queue()
    ids = [(await queue.enqueue("tests.jobs.add", i, i, _queue_name=in_process)).id for i in range(3)]
    worker = create_worker(queue_name=in_process, burst=True, handle_signals=False, max_jobs=1, poll_delay=30)
    loop = asyncio.get_running_loop()
    started = loop.time()
    try:
        await worker.async_run()
    finally:
        await worker.close()
    assert worker.jobs_complete == 3
    assert loop.time() - started < 30
    results = [await queue.get_job_result(job_id, in_process) for job_id in ids]
    assert [r.result for r in results] == [0, 2, 4]
