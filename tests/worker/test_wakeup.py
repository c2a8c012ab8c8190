"""Idle workers are woken by enqueues; full reads are followed at once; plain arq clients still work.

Each worker here polls every 60 s, so a job that runs within the tests' deadline proves that
something other than the poll started it.
"""

from __future__ import annotations

import asyncio

import pytest
import redis
from arq import create_pool

from django_arq import JobSpec, get_queue
from django_arq.queues.wakeup import WakeUp, wake_channel
from tests.helpers import wait_for
from tests.worker.conftest import WorkerRunner

pytestmark = pytest.mark.django_db(transaction=True)

SLOW_POLL = ("--poll-delay", "60")


def finished(job_ids: list[str], queue_name: str) -> bool:
    queue = get_queue().backend
    return all(queue.get_job_metadata_sync(i, queue_name).status.value == "complete" for i in job_ids)


def test_an_idle_worker_starts_an_enqueued_job_without_waiting_for_its_poll(workers: WorkerRunner) -> None:
    q = workers.queue_name
    workers.start(*SLOW_POLL)
    first = get_queue().enqueue_sync("tests.jobs.add", 1, 2, _queue_name=q)  # the first poll may take it
    wait_for(lambda: finished([first.id], q), timeout=30)
    later = [get_queue().enqueue_sync("tests.jobs.add", i, 1, _queue_name=q).id for i in range(3)]
    wait_for(lambda: finished(later, q), timeout=30)  # long before the next poll, 60 s away
    assert [get_queue().get_job_result_sync(i, q).result for i in later] == [1, 2, 3]


def test_a_worker_drains_more_than_one_read_without_waiting_for_its_poll(workers: WorkerRunner) -> None:
    q = workers.queue_name
    process = workers.start(*SLOW_POLL)
    ids = [
        m.id
        for m in get_queue().enqueue_many_sync(
            [JobSpec("tests.jobs.add", (i, 0), queue_name=q) for i in range(350)]
        )
    ]
    wait_for(lambda: finished(ids, q), timeout=60)  # 350 jobs: four reads of arq's 100
    assert process.proc.poll() is None


async def test_jobs_of_a_plain_arq_client_start_at_the_poll(workers: WorkerRunner, redis_url: str) -> None:
    """A plain arq client publishes nothing: the worker finds its jobs when it polls."""
    q = workers.queue_name
    workers.start("--poll-delay", "0.2")
    pool = await create_pool(get_queue().redis_settings, default_queue_name=q)
    try:
        job = await pool.enqueue_job("tests.jobs.add", 4, 5)
        assert job is not None
        assert await job.result(timeout=30) == 9
    finally:
        await pool.aclose()


async def test_wakeup_folds_messages_and_times_out(redis_url: str) -> None:
    client = redis.asyncio.Redis.from_url(redis_url)
    wakeup = WakeUp(client, "django-arq-tests:wakeup")
    wakeup.start()
    try:
        await asyncio.wait_for(wakeup.subscribed.wait(), 10)
        wakeup.clear()
        assert not await wakeup.wait(0.05)  # nothing published
        for _ in range(3):
            await client.publish(wake_channel("django-arq-tests:wakeup"), "")
        assert await wakeup.wait(10)
        for _ in range(20):  # the three messages wake it at most three times, then it stays asleep
            wakeup.clear()
            if not await wakeup.wait(0.1):
                break
        else:
            pytest.fail("wake-ups kept coming with nothing published")
    finally:
        await wakeup.close()
        await client.aclose()


async def test_wakeup_keeps_trying_while_redis_is_unreachable() -> None:
    client = redis.asyncio.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    wakeup = WakeUp(client, "q")
    wakeup.start()
    try:
        assert not await wakeup.wait(0.3)  # no subscription: wait() is a plain sleep, the poll goes on
        assert not wakeup.subscribed.is_set()
    finally:
        await wakeup.close()
        await client.aclose()
