"""queues/reporting.py: how progress reports are coalesced and stored, their lifetimes in Redis, the mock."""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
import uuid
from typing import Any

import pytest
import redis
import redis.asyncio

from django_arq import MockArqQueue, RedisArqQueue, report_progress, report_progress_sync
from django_arq.queues.jobs import JobProgress
from django_arq.queues.progress import make_progress, new_report, progress_key
from django_arq.queues.reporting import CTX_KEY, WHILE_RUNNING, ProgressReports, RedisProgress, kept_for_ms
from tests.helpers import async_wait_for

INTERVAL = 0.2


class Recorded(ProgressReports):
    """Reports kept in lists, as stored."""

    def __init__(self, interval: float = INTERVAL, fail: bool = False) -> None:
        super().__init__(interval=interval, on_stored=self.mirror)
        self.stored: list[tuple[str, float, int | None]] = []
        self.expired: list[tuple[str, int | None]] = []
        self.mirrored: list[float] = []
        self.fail = fail

    async def store(self, job_id: str, progress: JobProgress, keep_ms: int | None) -> None:
        if self.fail:
            raise redis.ConnectionError("Redis is down")
        self.stored.append((job_id, progress.done, keep_ms))

    async def expire(self, job_id: str, keep_ms: int | None) -> None:
        self.expired.append((job_id, keep_ms))

    def mirror(self, job_id: str, progress: JobProgress) -> None:
        self.mirrored.append(progress.done)

    def done(self) -> list[float]:
        return [done for _, done, _ in self.stored]


def job_ctx(reports: ProgressReports, job_id: str = "j", job_try: int = 1) -> dict[str, Any]:
    """The ctx of a running try of a job (started, if it is not already)."""
    reports.job_started(job_id, job_try)
    return {"job_id": job_id, "job_try": job_try, CTX_KEY: reports}


async def test_the_first_report_is_stored_at_once_and_a_burst_is_coalesced() -> None:
    reports = Recorded()
    ctx = job_ctx(reports)
    start = time.monotonic()
    for i in range(1, 1001):
        await report_progress(ctx, i, 1000)
    elapsed = time.monotonic() - start
    assert reports.done()[0] == 1
    assert len(reports.stored) <= 2 + elapsed / INTERVAL
    await async_wait_for(lambda: reports.done()[-1] == 1000, timeout=5)  # once the interval passed
    assert reports.stored[-1] == ("j", 1000, WHILE_RUNNING)
    assert reports.mirrored == reports.done()
    stored = len(reports.stored)
    await asyncio.sleep(3 * INTERVAL)  # nothing waits: nothing more is stored
    assert len(reports.stored) == stored


async def test_reports_an_interval_apart_are_each_stored() -> None:
    reports = Recorded(interval=0.01)
    ctx = job_ctx(reports)
    for i in range(3):
        await report_progress(ctx, i)
        await async_wait_for(lambda i=i: reports.done() == list(range(i + 1)), timeout=5)
        await asyncio.sleep(0.02)
    assert reports.done() == [0, 1, 2]


async def test_an_interval_of_zero_stores_every_report() -> None:
    reports = Recorded(interval=0)
    ctx = job_ctx(reports)
    for i in range(50):
        await report_progress(ctx, i)
    assert reports.done() == list(range(50))


async def test_the_waiting_report_is_stored_when_the_job_ends_with_the_results_lifetime() -> None:
    reports = Recorded(interval=60)
    ctx = job_ctx(reports)
    await report_progress(ctx, 1)
    await report_progress(ctx, 2)
    await reports.job_ended("j", 5000)
    assert reports.stored == [("j", 1, WHILE_RUNNING), ("j", 2, 5000)]
    assert reports.expired == []
    assert reports._jobs == {}  # nothing left of the job


async def test_a_job_with_nothing_waiting_gets_its_lifetime_set() -> None:
    reports = Recorded()
    await report_progress(job_ctx(reports), 1)
    await reports.job_ended("j", None)
    assert reports.expired == [("j", None)]
    await report_progress(job_ctx(reports, "again"), 1)
    await reports.job_ended("again", WHILE_RUNNING)  # retried: its report lives on as it is
    assert reports.expired == [("j", None)]


async def test_a_job_that_never_reported_costs_nothing_at_its_end() -> None:
    reports = Recorded()
    await reports.job_ended("quiet", 1000)
    job_ctx(reports, "started")  # a try started, and never reported
    await reports.job_ended("started", 1000)
    assert (reports.stored, reports.expired) == ([], [])


async def test_a_report_made_after_its_job_ended_is_ignored() -> None:
    """A thread or task the job left running reports on: its job's last report and lifetime stay."""
    reports = Recorded(interval=0.01)
    ctx = job_ctx(reports)
    await report_progress(ctx, 1)
    await reports.job_ended("j", 5000)
    assert (reports.stored, reports.expired) == ([("j", 1, WHILE_RUNNING)], [("j", 5000)])
    await report_progress(ctx, 2)
    await asyncio.to_thread(report_progress_sync, ctx, 3)
    report_progress_sync(ctx, 4)  # a sync helper called on the event loop
    await asyncio.sleep(0.05)  # several intervals: nothing waits to be stored either
    assert (reports.stored, reports.expired) == ([("j", 1, WHILE_RUNNING)], [("j", 5000)])
    assert reports.mirrored == [1]
    assert reports._jobs == {}  # nor is anything kept for it


async def test_a_report_of_an_earlier_try_is_ignored_while_the_next_one_runs() -> None:
    reports = Recorded(interval=0.01)
    first = job_ctx(reports, job_try=1)
    await report_progress(first, 1)
    await reports.job_ended("j", WHILE_RUNNING)  # to run again
    second = job_ctx(reports, job_try=2)
    await report_progress(first, 50)  # try 1's thread, still running
    await report_progress(second, 2)
    await reports.job_ended("j", 1000)
    assert reports.stored == [("j", 1, WHILE_RUNNING), ("j", 2, WHILE_RUNNING)]
    assert reports.expired == [("j", 1000)]


async def test_a_report_taken_before_the_end_but_not_yet_stored_is_dropped() -> None:
    reports = Recorded()
    job_ctx(reports)
    job = reports.take("j", 1, new_report(1, None, None))  # due at once; its store not begun yet
    assert job is not None
    await reports.job_ended("j", 5000)
    await reports.store_now("j", job, new_report(1, None, None))  # comes on the event loop after the end
    assert (reports.stored, reports.expired) == ([], [("j", 5000)])


async def test_the_end_waits_for_a_store_under_way_then_sets_the_lifetime() -> None:
    reports = Slow(interval=60)
    ctx = job_ctx(reports)
    reports.gate.clear()
    reporting = asyncio.create_task(report_progress(ctx, 1))  # stored at once, held at the gate
    await asyncio.wait_for(reports.storing.wait(), 5)
    ending = asyncio.create_task(reports.job_ended("j", 5000))
    await asyncio.sleep(0.05)
    assert not ending.done() and reports.expired == []  # not before the store it would undo
    reports.gate.set()
    await asyncio.wait_for(asyncio.gather(reporting, ending), 5)
    assert (reports.stored, reports.expired) == ([("j", 1, WHILE_RUNNING)], [("j", 5000)])


async def test_jobs_are_coalesced_separately() -> None:
    reports = Recorded(interval=60)
    await report_progress(job_ctx(reports, "a"), 1)
    await report_progress(job_ctx(reports, "b"), 1)
    await report_progress(job_ctx(reports, "a"), 2)
    assert reports.stored == [("a", 1, WHILE_RUNNING), ("b", 1, WHILE_RUNNING)]
    await reports.job_ended("a", 10)
    await reports.job_ended("b", 10)
    assert reports.stored[-1] == ("a", 2, 10)
    assert reports.expired == [("b", 10)]


async def test_sync_reports_from_a_thread_share_the_rule() -> None:
    reports = Recorded()
    ctx = job_ctx(reports)
    seen_after_first: list[list[float]] = []

    def job() -> None:
        report_progress_sync(ctx, 1, 100)
        seen_after_first.append(reports.done())  # stored before the call returned
        for i in range(2, 101):
            report_progress_sync(ctx, i, 100)

    await asyncio.to_thread(job)
    assert seen_after_first == [[1]]
    await async_wait_for(lambda: reports.done()[-1] == 100, timeout=5)
    assert reports.mirrored == reports.done()


async def test_a_sync_report_made_on_the_event_loop_does_not_block_it() -> None:
    reports = Recorded()
    report_progress_sync(job_ctx(reports), 1)  # e.g. a sync helper called by an async job
    report_progress_sync(job_ctx(reports), 2)
    await async_wait_for(lambda: reports.done() == [1, 2], timeout=5)


async def test_a_report_that_cannot_be_stored_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    reports = Recorded(fail=True)
    with caplog.at_level(logging.WARNING, "django_arq.progress"):
        await report_progress(job_ctx(reports), 1)
        await asyncio.to_thread(report_progress_sync, job_ctx(reports, "sync"), 1)
    assert "job j: could not store its progress report (Redis is down)" in caplog.text
    assert "job sync: could not store" in caplog.text


@pytest.mark.parametrize(
    ("done", "total", "message", "error"),
    [
        (math.nan, None, None, ValueError),
        (1, -1, None, ValueError),
        (True, None, None, TypeError),
        ("1", None, None, TypeError),
        (1, None, b"bytes", TypeError),
    ],
)
async def test_a_bad_report_raises_and_stores_nothing(
    done: Any, total: Any, message: Any, error: type
) -> None:
    reports = Recorded()
    with pytest.raises(error, match="progress"):
        await report_progress(job_ctx(reports), done, total, message)
    with pytest.raises(error, match="progress"):
        await asyncio.to_thread(report_progress_sync, job_ctx(reports), done, total, message)
    assert reports.stored == []


@pytest.mark.parametrize("ctx", [None, "job-id", 5, {}, {"job_id": "j"}, {"job_id": 5, CTX_KEY: None}])
async def test_anything_but_a_jobs_ctx_is_a_type_error(ctx: Any) -> None:
    with pytest.raises(TypeError, match="report_progress"):
        await report_progress(ctx, 1)
    with pytest.raises(TypeError, match="report_progress"):
        report_progress_sync(ctx, 1)


async def test_a_plain_arq_workers_ctx_gets_a_redis_store(redis_url: str) -> None:
    client = redis.asyncio.Redis.from_url(redis_url)
    job_id = f"plain-{uuid.uuid4().hex}"
    ctx: dict[str, Any] = {"job_id": job_id, "redis": client}
    try:
        await report_progress(ctx, 1, 2)
        assert isinstance(ctx[CTX_KEY], RedisProgress)
        assert 0 < await client.pttl(progress_key(job_id)) <= ctx[CTX_KEY].running_ttl_ms
        with pytest.raises(TypeError, match="report_progress needs"):  # a thread has no event loop
            await asyncio.to_thread(report_progress_sync, {"job_id": job_id, "redis": client}, 1)
    finally:
        await client.delete(progress_key(job_id))
        await client.aclose()


# -- the Redis store ---------------------------------------------------------------------------------


class Counting(redis.asyncio.Redis):
    """An asyncio client that counts the commands it sends."""

    sent: list[tuple[Any, ...]]

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        self.sent.append(args)
        return await super().execute_command(*args, **options)


@pytest.fixture
async def counting(redis_url: str):
    client = Counting.from_url(redis_url)
    client.sent = []
    yield client
    await client.aclose()


async def test_one_redis_command_per_stored_report(counting: Counting, redis_client: redis.Redis) -> None:
    job_id = f"count-{uuid.uuid4().hex}"
    reports = RedisProgress(counting, running_ttl_ms=60_000, interval=INTERVAL)
    ctx = job_ctx(reports, job_id)
    start = time.monotonic()
    for i in range(1, 5001):
        await report_progress(ctx, i, 5000, "rows")
    elapsed = time.monotonic() - start
    await reports.job_ended(job_id, 30_000)
    key = progress_key(job_id).encode()
    assert all(command[0] == "SET" and command[1] == progress_key(job_id) for command in counting.sent)
    assert len(counting.sent) <= 2 + elapsed / INTERVAL
    assert counting.sent[0][3:] == ("PX", 60_000)
    assert counting.sent[-1][3:] == ("PX", 30_000)
    assert b'"done":5000' in redis_client.get(key)
    assert 0 < redis_client.pttl(key) <= 30_000
    redis_client.delete(key)


@pytest.mark.parametrize(
    ("keep_ms", "command", "ttl"),
    [(5000, "PEXPIRE", (1, 5000)), (None, "PERSIST", (-1, -1)), (0, "DEL", (-2, -2))],
)
async def test_the_lifetime_a_report_gets_when_its_job_ends(
    counting: Counting, redis_client: redis.Redis, keep_ms: int | None, command: str, ttl: tuple[int, int]
) -> None:
    job_id = f"ttl-{uuid.uuid4().hex}"
    reports = RedisProgress(counting, running_ttl_ms=60_000)
    await report_progress(job_ctx(reports, job_id), 1)
    await reports.job_ended(job_id, keep_ms)
    assert [c[0] for c in counting.sent] == ["SET", command]
    assert ttl[0] <= redis_client.pttl(progress_key(job_id)) <= ttl[1]
    redis_client.delete(progress_key(job_id))


@pytest.mark.parametrize(
    ("keep_ms", "last", "ttl"),
    [(0, "DEL", -2), (None, "SET", -1)],  # no result kept: deleted; kept forever: no expiry
)
async def test_a_waiting_report_stored_at_the_end_of_a_job_gets_the_results_lifetime(
    counting: Counting, redis_client: redis.Redis, keep_ms: int | None, last: str, ttl: int
) -> None:
    job_id = f"end-{uuid.uuid4().hex}"
    reports = RedisProgress(counting, running_ttl_ms=60_000, interval=60)
    await report_progress(job_ctx(reports, job_id), 1)
    await report_progress(job_ctx(reports, job_id), 2)  # waits
    await reports.job_ended(job_id, keep_ms)
    assert [c[0] for c in counting.sent] == ["SET", last]
    if last == "SET":
        assert counting.sent[-1][3:] == () and b'"done":2' in redis_client.get(progress_key(job_id))
    assert redis_client.pttl(progress_key(job_id)) == ttl
    redis_client.delete(progress_key(job_id))


@pytest.mark.parametrize(
    ("finished", "result_kept", "keep_result_s", "forever", "expected"),
    [
        (False, False, 3600, False, WHILE_RUNNING),
        (True, False, 3600, False, 0),
        (True, True, 3600, False, 3_600_000),
        (True, True, 0.0001, False, 1),
        (True, True, 3600, True, None),
        (True, True, None, False, None),
    ],
)
def test_kept_for_ms(
    finished: bool, result_kept: bool, keep_result_s: Any, forever: bool, expected: Any
) -> None:
    assert kept_for_ms(finished, result_kept, keep_result_s, forever) == expected


def test_a_report_redis_holds_that_is_not_one_reads_as_none(
    redis_url: str, redis_client: redis.Redis
) -> None:
    queue = RedisArqQueue(redis_url, default_queue_name=f"progress-bad-{uuid.uuid4().hex}")
    meta = queue.enqueue_sync("tests.jobs.add", 1, 2)
    try:
        for bad in (b"not json", b"\xff\xfe", b'{"done": -1, "time": "2026-01-01T00:00:00+00:00"}', b"[]"):
            redis_client.set(progress_key(meta.id), bad)
            assert queue.get_job_metadata_sync(meta.id).progress is None
        good = make_progress(2, 4, "half")
        redis_client.set(
            progress_key(meta.id),
            b'{"done":2,"total":4,"message":"half","time":"%s"}' % (good.time.isoformat().encode()),
        )
        assert queue.get_job_metadata_sync(meta.id).progress == good
    finally:
        redis_client.delete(progress_key(meta.id), f"arq:job:{meta.id}", queue.default_queue_name)
        queue.close()


# -- the mock ------------------------------------------------------------------------------------------


async def test_the_mock_runs_sync_and_async_jobs_that_report() -> None:
    mock = MockArqQueue(default_queue_name="progress-mock", progress_interval=60)
    sync = await mock.enqueue("tests.jobs.sync_report", 500, 500)
    asynchronous = await mock.enqueue("tests.jobs.report", 7)
    quiet = await mock.enqueue("tests.jobs.add", 1, 2)
    results = {r.id: r for r in await mock.run_queued()}
    assert results[sync.id].success and results[asynchronous.id].success
    sync_progress = results[sync.id].progress
    assert sync_progress is not None and (sync_progress.done, sync_progress.fraction) == (500, 1.0)
    async_progress = (await mock.get_job_metadata(asynchronous.id)).progress
    assert async_progress is not None
    assert (async_progress.done, async_progress.total, async_progress.message) == (7, None, "step 7")
    assert results[quiet.id].progress is None


async def test_a_bad_report_fails_its_job_in_the_mock_and_the_others_run() -> None:
    mock = MockArqQueue(default_queue_name="progress-mock-bad")
    bad = await mock.enqueue("tests.jobs.report", 1, -5)  # a negative total
    good = await mock.enqueue("tests.jobs.add", 1, 2)
    results = {r.id: r for r in await mock.run_queued()}
    assert results[bad.id].success is False
    assert isinstance(results[bad.id].result, ValueError)
    assert "progress total must be a finite number >= 0" in str(results[bad.id].result)
    assert results[good.id].result == 3


def test_reports_from_many_threads_at_once() -> None:
    """Several sync jobs of one worker report at once: each job's last report is kept."""

    async def main() -> Recorded:
        reports = Recorded(interval=0.01)

        def job(job_id: str) -> None:
            for i in range(1, 2001):
                report_progress_sync(job_ctx(reports, job_id), i)

        threads = [threading.Thread(target=job, args=(f"t{n}",)) for n in range(4)]
        for thread in threads:
            thread.start()
        await asyncio.to_thread(lambda: [t.join() for t in threads])
        for n in range(4):
            await reports.job_ended(f"t{n}", 1000)
        return reports

    reports = asyncio.run(main())
    last = {job_id: done for job_id, done, _ in reports.stored}
    assert last == {f"t{n}": 2000 for n in range(4)}
    for n in range(4):  # the last report stored with its lifetime, or given it afterwards
        assert (f"t{n}", 2000, 1000) in reports.stored or (f"t{n}", 1000) in reports.expired


class Slow(Recorded):
    """Stores wait for ``gate`` once it is cleared, so that reports come while one is stored."""

    def __init__(self, interval: float) -> None:
        super().__init__(interval=interval)
        self.gate = asyncio.Event()
        self.gate.set()
        self.storing = asyncio.Event()

    async def store(self, job_id: str, progress: JobProgress, keep_ms: int | None) -> None:
        self.storing.set()
        await self.gate.wait()
        await super().store(job_id, progress, keep_ms)


async def test_reports_made_while_one_is_stored_are_stored_after_it() -> None:
    reports = Slow(interval=0.05)
    ctx = job_ctx(reports)
    await report_progress(ctx, 1)  # stored at once
    reports.gate.clear()
    reports.storing.clear()
    await report_progress(ctx, 2)  # waits for the interval, then its store blocks on the gate
    await asyncio.wait_for(reports.storing.wait(), 5)
    await report_progress(ctx, 3)  # comes while 2 is being stored
    await report_progress(ctx, 4)
    reports.gate.set()
    await async_wait_for(lambda: reports.done() == [1, 2, 4], timeout=5)  # without the job ending
    await asyncio.sleep(0.2)
    assert reports.done() == [1, 2, 4]  # each stored once
    await reports.job_ended("j", 1000)
    assert reports.expired == [("j", 1000)] and reports.done() == [1, 2, 4]
