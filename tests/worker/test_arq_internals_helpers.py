"""The helpers of ``django_arq.queues.arq_internals`` on a plain arq ``Worker``: what each reads
or changes of the worker's job slots, running tasks, timers and pool."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from arq import Worker, create_pool, cron, func
from arq.connections import RedisSettings

from django_arq.queues import arq_internals as internals
from django_arq.queues.connection import PackedByHiredis


async def noop(ctx: dict[str, object]) -> None:
    """A job function for the workers built here."""


def worker(max_jobs: int = 2) -> Worker:
    return Worker(
        [func(noop, name="noop")], redis_settings=RedisSettings(), handle_signals=False, max_jobs=max_jobs
    )


class Runs:
    """Stands in for ``Worker.run_job``: each job runs until its event is set."""

    def __init__(self) -> None:
        self.started: list[tuple[str, int]] = []
        self.events: dict[str, asyncio.Event] = {}

    async def __call__(self, job_id: str, score: int) -> None:
        self.started.append((job_id, score))
        await self.events.setdefault(job_id, asyncio.Event()).wait()

    def end(self, job_id: str) -> None:
        self.events.setdefault(job_id, asyncio.Event()).set()


def test_make_function_passes_every_option_by_its_name() -> None:
    made = internals.make_function("pkg.job", len, max_tries=3, timeout_s=4.5, keep_result_s=60.0)
    assert (made.name, made.coroutine) == ("pkg.job", len)
    assert (made.max_tries, made.timeout_s, made.keep_result_s) == (3, 4.5, 60.0)
    assert made.keep_result_forever is None


async def test_running_job_ids_and_whether_a_job_function_runs() -> None:
    w = worker()
    assert internals.running_job_ids(w) == [] and internals.running_jobs(w) == 0
    assert internals.jobs_running_now(w) is False
    first, second = asyncio.get_running_loop().create_future(), asyncio.get_running_loop().create_future()
    w.tasks.update(a=first, b=second)  # type: ignore[arg-type]
    assert internals.running_job_ids(w) == ["a", "b"] and internals.running_jobs(w) == 2
    assert internals.jobs_running_now(w) is False  # claimed, but no job function started yet
    w.job_tasks["a"] = first  # type: ignore[assignment]
    assert internals.jobs_running_now(w) is True
    first.cancel(), second.cancel()


async def test_cron_runs_are_those_planned_only() -> None:
    planned, unplanned = cron(noop, name="cron:a", second=1), cron(noop, name="cron:b", second=2)
    w = Worker([], cron_jobs=[unplanned, planned], redis_settings=RedisSettings(), handle_signals=False)
    planned.next_run = datetime(2030, 1, 1, tzinfo=UTC)
    assert internals.cron_runs_ms(w) == [int(planned.next_run.timestamp() * 1000)]


async def test_health_check_is_due_one_interval_after_the_last() -> None:
    w = worker()
    w._last_health_check, w.health_check_interval = 100.25, 30
    assert internals.health_check_due_ms(w) == 130250
    assert type(internals.health_check_due_ms(w)) is int


async def test_in_progress_keys_live_as_long_as_arq_sets_them_in_milliseconds() -> None:
    w = worker()
    w.in_progress_timeout_s = 12.3456
    assert internals.in_progress_ms(w) == 12345
    assert type(internals.in_progress_ms(w)) is int


async def test_take_job_slots_takes_the_free_slots_up_to_the_number_wanted() -> None:
    w = worker(max_jobs=3)
    assert await internals.take_job_slots(w, 2) == 2
    internals.release_job_slots(w, 2)
    assert await internals.take_job_slots(w, 5) == 3  # max_jobs, not the semaphore's extra permit
    assert not w.sem.locked()
    internals.release_job_slots(w, 3)
    w.job_counter = 2  # two slots in use
    assert await internals.take_job_slots(w, 5) == 1
    internals.release_job_slots(w, 1)
    w.job_counter = 3
    assert await internals.take_job_slots(w, 5) == 0
    assert await internals.take_job_slots(w, 0) == 0


async def test_take_job_slots_stops_when_the_semaphore_is_empty() -> None:
    w = worker(max_jobs=3)
    for _ in range(3):
        await w.sem.acquire()  # held by arq's own start_jobs, with job_counter not yet raised
    assert await asyncio.wait_for(internals.take_job_slots(w, 3), 5) == 1
    assert w.sem.locked()


async def test_release_job_slots_gives_back_exactly_that_many() -> None:
    w = worker(max_jobs=2)
    assert await internals.take_job_slots(w, 2) == 2
    await w.sem.acquire()  # the last permit
    internals.release_job_slots(w, 2)
    await w.sem.acquire()
    await w.sem.acquire()
    assert w.sem.locked()
    internals.release_job_slots(w, 3)
    with pytest.raises(ValueError):  # one more than was taken: arq's semaphore is bounded
        internals.release_job_slots(w, 1)
    internals.release_job_slots(w, 0)


async def test_a_claimed_job_runs_in_its_slot_and_gives_it_back_when_it_ends() -> None:
    w = worker(max_jobs=2)
    runs = Runs()
    w.run_job = runs  # type: ignore[method-assign]
    assert await internals.take_job_slots(w, 1) == 1
    internals.start_claimed_job(w, "job-1", 1234)
    task = internals.running_job(w, "job-1")
    assert task is not None and w.job_counter == 1 and internals.running_job(w, "other") is None
    await asyncio.sleep(0)
    assert runs.started == [("job-1", 1234)]
    runs.end("job-1")
    await asyncio.wait_for(task, 5)
    await asyncio.sleep(0)
    assert w.job_counter == 0
    assert await internals.take_job_slots(w, 5) == 2  # the slot is free again
    assert internals.running_job_ids(w) == ["job-1"]  # arq's run_job removes it, not the callback


async def test_job_slot_freed_at_once_while_a_slot_is_free() -> None:
    w = worker(max_jobs=2)
    w.job_counter = 1
    assert await internals.job_slot_freed(w, 0) is True


class Tasks(dict[str, "asyncio.Task[None]"]):
    """A worker's ``tasks`` that counts how often its running tasks are looked over."""

    looked = 0

    def values(self) -> Any:
        self.looked += 1
        return super().values()


async def busy_worker(max_jobs: int, *job_ids: str) -> tuple[Worker, Runs]:
    """A worker running jobs ``job_ids`` (each in a slot) until the test ends them."""
    w = worker(max_jobs=max_jobs)
    w.tasks = Tasks()
    runs = Runs()
    w.run_job = runs  # type: ignore[method-assign]
    assert await internals.take_job_slots(w, len(job_ids)) == len(job_ids)
    for score, job_id in enumerate(job_ids):
        internals.start_claimed_job(w, job_id, score)
    return w, runs


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The delay of every ``asyncio.sleep`` during the test (each still sleeps)."""
    delays: list[float] = []
    real = asyncio.sleep

    async def sleep(delay: float) -> None:
        delays.append(delay)
        await real(delay)

    monkeypatch.setattr(asyncio, "sleep", sleep)
    return delays


async def test_job_slot_freed_waits_for_a_running_job_to_end_without_spinning(sleeps: list[float]) -> None:
    w, runs = await busy_worker(1, "slow")
    asyncio.get_running_loop().call_later(0.05, runs.end, "slow")
    assert await asyncio.wait_for(internals.job_slot_freed(w, 30), 20) is True
    assert w.job_counter == 0
    assert isinstance(w.tasks, Tasks) and w.tasks.looked == 1  # one wait, not a loop polling the jobs
    assert sleeps == [0]  # a yield for the slot's callback, not a pause


async def test_job_slot_freed_returns_when_the_first_of_the_running_jobs_ends() -> None:
    w, runs = await busy_worker(2, "quick", "stuck")
    asyncio.get_running_loop().call_later(0.05, runs.end, "quick")
    started = time.monotonic()
    assert await asyncio.wait_for(internals.job_slot_freed(w, 20), 20) is True
    assert time.monotonic() - started < 10  # not when the last one ends, or at the timeout
    assert w.job_counter == 1
    runs.end("stuck")


async def test_job_slot_freed_gives_up_at_its_timeout(sleeps: list[float]) -> None:
    w, runs = await busy_worker(1, "stuck")
    started = time.monotonic()
    assert await asyncio.wait_for(internals.job_slot_freed(w, 0.2), 10) is False
    assert 0.15 < time.monotonic() - started < 10
    assert await asyncio.wait_for(internals.job_slot_freed(w, 0), 10) is False
    w.tasks.clear()  # full, and nothing running to wait on
    assert await asyncio.wait_for(internals.job_slot_freed(w, 0.05), 10) is False
    assert set(sleeps) == {0}
    runs.end("stuck")


async def test_running_job_ended_is_false_at_once_when_none_runs_or_no_time_is_given() -> None:
    w = worker()
    assert await internals.running_job_ended(w, 30) is False
    w, runs = await busy_worker(2, "a")
    runs.end("a")  # ready to end at its first step, which the calls below give no chance to run
    assert await internals.running_job_ended(w, 0) is False
    assert await internals.running_job_ended(w, -1) is False
    assert runs.started == []
    await asyncio.wait_for(w.tasks["a"], 5)
    assert runs.started == [("a", 0)]
    assert await internals.running_job_ended(w, 30) is False  # done: not running any more


async def test_running_job_ended_returns_when_the_first_of_several_ends(sleeps: list[float]) -> None:
    w, runs = await busy_worker(3, "quick", "stuck")
    asyncio.get_running_loop().call_later(0.05, runs.end, "quick")
    started = time.monotonic()
    assert await asyncio.wait_for(internals.running_job_ended(w, 30), 20) is True
    assert time.monotonic() - started < 10
    assert w.job_counter == 1  # the ended job's slot is back
    assert sleeps == [0]
    runs.end("stuck")


async def test_running_job_ended_within_less_than_a_second() -> None:
    w, runs = await busy_worker(2, "quick")
    runs.end("quick")  # it ends at its first step, in the wait
    assert await internals.running_job_ended(w, 0.5) is True
    assert runs.started == [("quick", 0)]


async def test_running_job_ended_is_false_when_none_ends_in_time() -> None:
    w, runs = await busy_worker(1, "stuck")
    assert await asyncio.wait_for(internals.running_job_ended(w, 0.05), 10) is False
    runs.end("stuck")


async def test_end_burst_counts_the_running_jobs_as_started() -> None:
    w = worker()
    w.jobs_complete, w.jobs_failed, w.jobs_retried = 4, 2, 1
    w.tasks["a"] = asyncio.get_running_loop().create_future()  # type: ignore[assignment]
    internals.end_burst(w)
    assert w.max_burst_jobs == 8
    w.tasks["a"].cancel()


async def test_repack_pool_switches_the_workers_pool_to_packing_in_c(redis_url: str) -> None:
    pytest.importorskip("hiredis")
    pool = await create_pool(RedisSettings.from_dsn(redis_url))
    try:
        assert not issubclass(pool.connection_pool.connection_class, PackedByHiredis)
        await internals.repack_pool({"redis": pool, "other": None})
        assert issubclass(pool.connection_pool.connection_class, PackedByHiredis)
        assert await pool.ping()
    finally:
        await pool.aclose()
