"""When an idle worker polls next: the earliest deferred job read from real Redis, and the rules."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import redis

from django_arq.queues.drivers import run_sync
from django_arq.queues.idle import HEALTH_MARGIN_MS, IDLE_POLLS, IdleWait, next_deferred

NOW = 1_800_000_000_000
FAR = NOW + 3_600_000  # an hour away: the health check is not what decides


@pytest.fixture
def queue(redis_client: redis.Redis) -> Iterator[str]:
    name = f"django-arq-tests:idle:{uuid.uuid4().hex[:10]}"
    yield name
    redis_client.delete(name)


def test_next_deferred_is_the_earliest_job_due_after_now(redis_client: redis.Redis, queue: str) -> None:
    assert run_sync(next_deferred(queue, NOW), redis_client, queue) is None
    redis_client.zadd(queue, {"due": NOW - 5, "now": NOW, "later": NOW + 7_000, "soon": NOW + 1_500})
    assert run_sync(next_deferred(queue, NOW), redis_client, queue) == NOW + 1_500
    assert run_sync(next_deferred(queue, NOW + 1_500), redis_client, queue) == NOW + 7_000
    assert run_sync(next_deferred(queue, NOW + 7_000), redis_client, queue) is None


def test_an_idle_worker_polls_at_the_first_thing_due() -> None:
    wait = IdleWait("q", 0.5)
    assert wait.read_needed(NOW, [])
    wait.read(None)
    assert wait.seconds(NOW, FAR) == 0.5 * IDLE_POLLS  # nothing known: the idle poll
    assert wait.seconds(NOW, NOW + 300) == (300 + HEALTH_MARGIN_MS) / 1000  # the health check
    wait.read(NOW + 700)
    assert wait.seconds(NOW, FAR) == 0.7  # the deferred job
    assert not wait.read_needed(NOW, [])
    assert wait.read_needed(NOW, [NOW + 1_200])  # a cron job planned: read again
    wait.read(NOW + 700)
    assert wait.seconds(NOW, FAR) == 0.7 and wait.seconds(NOW + 200, FAR) == 0.5
    wait.read(None)
    assert wait.seconds(NOW, FAR) == 0.7  # the cron job, enqueued half arq's window ahead
    assert wait.seconds(NOW + 1_000, FAR) == 0.0  # late: at once, never a negative wait


def test_the_earliest_deferred_job_is_read_again_after_a_change_or_once_due() -> None:
    wait = IdleWait("q", 2.0)
    wait.read(NOW + 5_000)
    assert not wait.read_needed(NOW, [])
    wait.changed()
    assert wait.read_needed(NOW, [])
    wait.read(NOW + 5_000)
    assert not wait.read_needed(NOW + 4_999, [])
    assert wait.read_needed(NOW + 5_000, [])  # due: polled, so the next one is wanted
    assert wait.seconds(NOW, FAR) == 5.0 and IdleWait("q", 2.0).idle_poll_ms == 2_000 * IDLE_POLLS


def test_next_deferred_reads_the_pairs_of_a_resp3_client(redis_url: str, queue: str) -> None:
    client = redis.Redis.from_url(redis_url, protocol=3)
    try:
        client.zadd(queue, {"later": NOW + 7_000, "soon": NOW + 1_500})
        assert run_sync(next_deferred(queue, NOW), client, queue) == NOW + 1_500
    finally:
        client.close()


def test_before_its_first_read_an_idle_worker_waits_its_idle_poll() -> None:
    assert IdleWait("q", 0.5).seconds(NOW, FAR) == 0.5 * IDLE_POLLS


def test_a_cron_job_is_awaited_one_poll_delay_ahead_of_its_run() -> None:
    wait = IdleWait("q", 2.0)
    assert wait.read_needed(NOW, [NOW + 5_000])
    wait.read(None)
    assert wait.seconds(NOW, FAR) == 3.0  # arq enqueues it one poll delay (2 s) early
