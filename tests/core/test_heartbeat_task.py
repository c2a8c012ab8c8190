"""A worker's ``Heartbeat`` on real Redis, its clock moved by the test: when a beat recovers lost
workers, when it writes the worker's entry whole, what a failed beat keeps for the next one, what
it logs, and how it stops."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis
from django.conf import settings
from redis.asyncio import Redis as AsyncRedis

from django_arq.queues import heartbeat_task
from django_arq.queues.heartbeat_task import REWRITE_AFTER, Heartbeat
from django_arq.queues.heartbeats import LIVE_PREFIX, PREFIX, LostJob, running_key
from tests.core.test_heartbeats import silence, start

LOST_AFTER = 30.0


class Clock:
    """The monotonic clock the heartbeat reads, moved only by the test."""

    def __init__(self) -> None:
        self.now = 1024.0  # sums of binary fractions: exact

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    made = Clock()
    monkeypatch.setattr(heartbeat_task, "time", made)
    return made


@pytest.fixture
def queue(heartbeat_queue: str) -> str:
    return heartbeat_queue


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[AsyncRedis]:
    made = AsyncRedis.from_url(redis_url)
    yield made
    await made.aclose()


class Worker:
    """What the heartbeat is given: a description to write, and a record of the jobs it re-queued."""

    def __init__(self) -> None:
        self.info: dict[str, Any] = {"pid": 1}
        self.lost: list[list[LostJob]] = []
        self.fail_on_lost = False

    def describe(self) -> dict[str, Any]:
        return dict(self.info)

    async def on_lost(self, jobs: list[LostJob]) -> None:
        self.lost.append(jobs)
        if self.fail_on_lost:
            raise RuntimeError("the records cannot be written")


def heartbeat(client: AsyncRedis, queue: str, worker: Worker) -> Heartbeat:
    return Heartbeat(
        client, queue, f"{queue}-me", LOST_AFTER, worker.describe, worker.on_lost, location=settings.REDIS_URL
    )


def with_a_job_done(beats: Heartbeat, redis_client: redis.Redis) -> Heartbeat:
    """``beats`` told of a job done, on its worker's running list: its next beat drops it."""
    redis_client.sadd(running_key(beats.worker_id), "hbjob-done")
    beats.job_done("hbjob-done")
    return beats


async def beat_without_redis(beats: Heartbeat) -> list[LostJob]:
    """One beat that cannot reach Redis (nothing listens on port 1)."""
    client, beats.redis = beats.redis, AsyncRedis(port=1)
    try:
        return await beats.beat_once()
    finally:
        await beats.redis.aclose()
        beats.redis = client


def dead_worker_with_a_job(redis_client: redis.Redis, queue: str) -> str:
    """A worker of ``queue`` that claimed and started a job, then went silent; the job's id."""
    job = f"hbjob-{uuid.uuid4().hex[:8]}"
    start(redis_client, queue, f"{queue}-dead", [job])
    silence(redis_client, queue, f"{queue}-dead")
    return job


def test_a_beat_comes_every_third_of_lost_after(client: AsyncRedis, queue: str) -> None:
    assert heartbeat(client, queue, Worker()).interval == LOST_AFTER / 3


async def test_only_a_beat_that_follows_one_on_time_recovers_lost_workers(
    client: AsyncRedis, redis_client: redis.Redis, queue: str, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    worker = Worker()
    beats = heartbeat(client, queue, worker)
    job = dead_worker_with_a_job(redis_client, queue)
    assert await beats.beat_once() == []  # the first beat: just started
    clock.now += LOST_AFTER + 0.5  # late: back from an outage, as others may be
    assert await beats.beat_once() == []
    assert redis_client.get(f"arq:in-progress:{job}") == f"{queue}-dead".encode()
    clock.now += LOST_AFTER  # on time, to the limit
    caplog.set_level(logging.WARNING, "django_arq.worker")
    (lost,) = await beats.beat_once()
    assert lost == LostJob(job, f"{queue}-dead", 1)
    assert redis_client.get(f"arq:in-progress:{job}") is None
    assert worker.lost == [[lost]] and beats.recovered == 1
    assert [r.getMessage() for r in caplog.records] == [
        f"job {job}: worker {queue}-dead lost, re-queued as try 2"
    ]
    other = dead_worker_with_a_job(redis_client, queue)
    clock.now += 1
    assert [j.job_id for j in await beats.beat_once()] == [other]
    assert beats.recovered == 2  # counted over the worker's life


async def test_the_entry_is_written_whole_when_the_description_changes_or_is_old(
    client: AsyncRedis, redis_client: redis.Redis, queue: str, clock: Clock
) -> None:
    worker = Worker()
    beats = heartbeat(client, queue, worker)
    entry = PREFIX + f"{queue}-me"
    await beats.beat_once()
    assert redis_client.hget(entry, "pid") == b"1"
    redis_client.hset(entry, "pid", "edited")  # shows whether the next beat writes the entry whole
    clock.now += REWRITE_AFTER
    await beats.beat_once()
    assert redis_client.hget(entry, "pid") == b"edited"  # unchanged, and not old yet
    clock.now += 0.25
    await beats.beat_once()
    assert redis_client.hget(entry, "pid") == b"1"  # old: written again
    redis_client.hset(entry, "pid", "edited")
    clock.now += 1
    await beats.beat_once()
    assert redis_client.hget(entry, "pid") == b"edited"  # the rewrite counts from when it was made
    worker.info["pid"] = 2
    await beats.beat_once()
    assert redis_client.hget(entry, "pid") == b"2"  # changed


async def test_a_beat_redis_refuses_is_logged_and_its_done_jobs_go_with_the_next(
    client: AsyncRedis, redis_client: redis.Redis, queue: str, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    worker = Worker()
    me = f"{queue}-me"
    beats = with_a_job_done(heartbeat(client, queue, worker), redis_client)
    caplog.set_level(logging.WARNING, "django_arq.worker")
    assert await beat_without_redis(beats) == []
    (record,) = caplog.records
    assert record.levelno == logging.WARNING and record.exc_info is None
    assert record.getMessage().startswith(f"worker {me}: heartbeat failed (Redis at redis://")
    await beats.beat_once()
    assert redis_client.smembers(running_key(me)) == set()
    assert redis_client.zscore(LIVE_PREFIX + queue, me) is not None


async def test_a_failed_beat_does_not_count_as_on_time(
    client: AsyncRedis, redis_client: redis.Redis, queue: str, clock: Clock
) -> None:
    worker = Worker()
    beats = heartbeat(client, queue, worker)
    job = dead_worker_with_a_job(redis_client, queue)
    await beats.beat_once()
    clock.now += LOST_AFTER
    assert await beat_without_redis(beats) == []
    clock.now += 1  # on time after the failed beat, late after the last one that succeeded
    assert await beats.beat_once() == []
    assert redis_client.get(f"arq:in-progress:{job}") == f"{queue}-dead".encode()


async def test_a_failed_beat_does_not_count_as_written(
    client: AsyncRedis, redis_client: redis.Redis, queue: str, clock: Clock
) -> None:
    worker = Worker()
    beats = heartbeat(client, queue, worker)
    await beats.beat_once()
    worker.info["pid"] = 2
    assert await beat_without_redis(beats) == []
    await beats.beat_once()
    assert redis_client.hget(PREFIX + f"{queue}-me", "pid") == b"2"


class FailingClient:
    """A client whose command fails with ``error`` after a job of the worker ended meanwhile."""

    def __init__(self, beats: Heartbeat, error: Exception) -> None:
        self.beats, self.error = beats, error

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        self.beats.job_done("hbjob-meanwhile")
        raise self.error


@pytest.mark.parametrize("error", [redis.ConnectionError("down"), RuntimeError("unforeseen")])
async def test_jobs_done_during_a_failed_beat_go_with_the_next(
    client: AsyncRedis, redis_client: redis.Redis, queue: str, clock: Clock, error: Exception
) -> None:
    beats = with_a_job_done(heartbeat(client, queue, Worker()), redis_client)
    redis_client.sadd(running_key(beats.worker_id), "hbjob-meanwhile")
    beats.redis = FailingClient(beats, error)
    try:
        await beats.beat_once()
    except RuntimeError:
        assert isinstance(error, RuntimeError)
    beats.redis = client
    await beats.beat_once()
    assert redis_client.smembers(running_key(beats.worker_id)) == set()


async def test_an_unforeseen_error_is_raised_and_the_done_jobs_kept(
    client: AsyncRedis, redis_client: redis.Redis, queue: str, clock: Clock
) -> None:
    worker = Worker()
    me = f"{queue}-me"
    beats = with_a_job_done(heartbeat(client, queue, worker), redis_client)
    worker.info["bad"] = object()  # not JSON
    with pytest.raises(TypeError):
        await beats.beat_once()
    del worker.info["bad"]
    await beats.beat_once()
    assert redis_client.smembers(running_key(me)) == set()


async def test_lost_jobs_that_cannot_be_recorded_are_logged_and_stay_requeued(
    client: AsyncRedis, redis_client: redis.Redis, queue: str, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    worker = Worker()
    worker.fail_on_lost = True
    beats = heartbeat(client, queue, worker)
    job = dead_worker_with_a_job(redis_client, queue)
    await beats.beat_once()
    clock.now += 1
    caplog.set_level(logging.ERROR, "django_arq.worker")
    assert [j.job_id for j in await beats.beat_once()] == [job]
    (record,) = caplog.records
    assert record.getMessage() == f"worker {queue}-me: could not record the lost jobs"
    assert record.exc_info is not None and isinstance(record.exc_info[1], RuntimeError)
    assert redis_client.get(f"arq:in-progress:{job}") is None and beats.recovered == 1


async def test_stopping_ends_the_beats_and_leaves_the_live_set(
    client: AsyncRedis, redis_client: redis.Redis, queue: str
) -> None:
    me = f"{queue}-me"
    beats = heartbeat(client, queue, Worker())
    beats.start()
    task = beats._task
    assert task is not None and task.get_name() == "django-arq-heartbeat"  # as asyncio lists it
    await beats.beat_once()
    assert redis_client.zscore(LIVE_PREFIX + queue, me) is not None
    await beats.stop()
    assert task.cancelled() and beats._task is None
    assert redis_client.zscore(LIVE_PREFIX + queue, me) is None and not redis_client.exists(PREFIX + me)


@pytest.mark.parametrize(
    ("given", "named"),
    [
        ({"location": "redis://localhost:1/0"}, "redis://localhost:1/0"),
        ({}, "the worker's Redis"),  # none given (create_worker always gives one): still a Redis
    ],
)
async def test_a_failed_stop_is_logged_not_raised_naming_the_redis(
    queue: str, caplog: pytest.LogCaptureFixture, given: dict[str, str], named: str
) -> None:
    down = AsyncRedis(port=1)
    beats = Heartbeat(down, queue, f"{queue}-me", LOST_AFTER, Worker().describe, Worker().on_lost, **given)
    caplog.set_level(logging.WARNING, "django_arq.worker")
    try:
        await beats.stop()
    finally:
        await down.aclose()
    (record,) = caplog.records
    assert record.getMessage().startswith(
        f"worker {queue}-me: could not remove its heartbeat (Redis at {named} is unavailable: "
    )
