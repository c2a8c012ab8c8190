"""The ArqQueue contract, run on RedisArqQueue (with real arq workers) and on MockArqQueue alike."""

from __future__ import annotations

import asyncio
import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from arq.constants import abort_jobs_ss
from django.conf import settings

from django_arq import (
    ArqQueue,
    JobMetadata,
    JobNotFound,
    JobNotQueued,
    JobResult,
    JobResultUnavailable,
    JobSpec,
    JobStatus,
    RedisArqQueue,
)
from django_arq.queues import mock
from django_arq.queues.arq_internals import JobExecutionFailed, job_key_prefix, timestamp_ms
from django_arq.queues.jobs import is_abort_result
from tests.helpers import async_wait_for

from .conftest import StartWorker

pytestmark = pytest.mark.django_db(transaction=False)

Backend = tuple[ArqQueue, StartWorker]


def new_id() -> str:
    return f"contract-{uuid.uuid4().hex}"


async def finished(queue: ArqQueue, job_id: str, queue_name: str | None = None, timeout: float = 15):
    async def complete() -> bool:
        meta = await queue.get_job_metadata(job_id, queue_name)
        return meta.status is JobStatus.complete

    await async_wait_for(complete, timeout=timeout)
    return await queue.get_job_result(job_id, queue_name)


async def test_enqueue_returns_metadata(backend: Backend) -> None:
    queue, _ = backend
    before = datetime.now(UTC)
    meta = await queue.enqueue("tests.jobs.add", 1, 2, _defer_by=60)
    assert meta.name == "tests.jobs.add"
    assert meta.args == (1, 2)
    assert meta.kwargs == {}
    assert meta.queue_name == settings.TEST_QUEUE == queue.default_queue_name
    assert meta.status is JobStatus.deferred
    assert meta.enqueue_time.tzinfo is not None
    assert before - timedelta(seconds=1) <= meta.enqueue_time <= datetime.now(UTC) + timedelta(seconds=1)
    assert await queue.get_job_metadata(meta.id) == meta


async def test_job_runs_and_result_is_read(backend: Backend) -> None:
    queue, _ = backend
    meta = await queue.enqueue("tests.jobs.add", 2, 3, _job_id=new_id())
    result = await finished(queue, meta.id)
    assert (result.success, result.result, result.status) == (True, 5, JobStatus.complete)
    assert result.id == meta.id and result.name == "tests.jobs.add" and result.args == (2, 3)
    assert result.start_time <= result.finish_time
    assert result.enqueue_time == meta.enqueue_time
    assert (await queue.get_job_metadata(meta.id)).status is JobStatus.complete


async def test_kwargs_reach_the_job(backend: Backend) -> None:
    queue, _ = backend
    meta = await queue.enqueue("tests.jobs.echo", "a", flag=True)
    result = await finished(queue, meta.id)
    assert result.result == {"args": ["a"], "kwargs": {"flag": True}, "job_try": 1}
    assert result.kwargs == {"flag": True}


async def test_failing_job_has_failed_result(backend: Backend) -> None:
    queue, _ = backend
    meta = await queue.enqueue("tests.jobs.fail", "boom")
    result = await finished(queue, meta.id)
    assert result.success is False
    assert isinstance(result.result, ValueError) and str(result.result) == "boom"
    assert not is_abort_result(result.success, result.result)


async def test_a_job_whose_result_cannot_be_serialized_has_failed(backend: Backend) -> None:
    """arq stores a failure for it (a plain arq worker's says only that; django-arq's names why)."""
    queue, _ = backend
    meta = await queue.enqueue("tests.jobs.unserializable")
    result = await finished(queue, meta.id)
    assert (result.success, is_abort_result(result.success, result.result)) == (False, False)
    assert not isinstance(result.result, type(threading.Lock()))


async def test_duplicate_job_id_is_refused_while_queued_and_after_finishing(backend: Backend) -> None:
    queue, _ = backend
    job_id = new_id()
    await queue.enqueue("tests.jobs.add", 1, 1, _job_id=job_id, _defer_by=0.3)
    with pytest.raises(JobNotQueued) as excinfo:
        await queue.enqueue("tests.jobs.add", 9, 9, _job_id=job_id)
    assert excinfo.value.job_id == job_id
    assert (await queue.get_job_metadata(job_id)).args == (1, 1)
    assert (await finished(queue, job_id)).result == 2
    with pytest.raises(JobNotQueued):
        await queue.enqueue("tests.jobs.add", 9, 9, _job_id=job_id)


async def test_deferred_jobs(backend: Backend) -> None:
    queue, _ = backend
    by = await queue.enqueue("tests.jobs.add", 1, 2, _defer_by=timedelta(minutes=5))
    until = await queue.enqueue("tests.jobs.add", 1, 2, _defer_until=datetime.now(UTC) + timedelta(minutes=5))
    for job in (by, until):
        assert job.status is JobStatus.deferred
        assert (await queue.get_job_metadata(job.id)).status is JobStatus.deferred
        with pytest.raises(JobResultUnavailable) as excinfo:
            await queue.get_job_result(job.id)
        assert excinfo.value.job_id == job.id
    soon = await queue.enqueue("tests.jobs.add", 4, 4, _defer_by=0.2)
    assert (await finished(queue, soon.id)).result == 8
    with pytest.raises(ValueError, match="not both"):
        await queue.enqueue("tests.jobs.add", _defer_by=1, _defer_until=datetime.now(UTC))


async def test_expired_job_is_gone(backend: Backend) -> None:
    queue, _ = backend
    meta = await queue.enqueue("tests.jobs.add", 1, 2, _defer_by=60, _expires=0.05)
    await asyncio.sleep(0.15)
    with pytest.raises(JobNotFound):
        await queue.get_job_metadata(meta.id)
    await queue.enqueue("tests.jobs.add", 1, 2, _job_id=meta.id, _defer_by=60)


async def expired_result(queue: ArqQueue, job_id: str, queue_name: str | None = None) -> JobResult:
    """The result a worker stores for a job whose payload expired before it was reached; a read finds
    no such job until then."""

    async def stored() -> JobResult | None:
        try:
            return await queue.get_job_result(job_id, queue_name)
        except (JobNotFound, JobResultUnavailable):
            return None

    return await async_wait_for(stored, timeout=15)


async def expired_unreached(queue: ArqQueue, queue_name: str) -> JobMetadata:
    """A job due on a queue no worker serves yet, whose payload has expired."""
    meta = await queue.enqueue("tests.jobs.add", 1, 2, _queue_name=queue_name, _expires=0.05)
    await asyncio.sleep(0.15)
    return meta


async def test_a_job_that_expires_before_a_worker_reaches_it_is_finished_as_expired(backend: Backend) -> None:
    """As arq's worker: the job fails with "job expired", under a name it can no longer read, and its
    result is kept (the id stays taken) like any other."""
    queue, _ = backend
    meta = await queue.enqueue("tests.jobs.add", 1, 2, _job_id=new_id(), _defer_by=0.3, _expires=0.1)
    result = await expired_result(queue, meta.id)
    assert (result.success, str(result.result)) == (False, "job expired")
    assert type(result.result) is JobExecutionFailed
    assert (result.name, result.args, result.kwargs) == ("<unknown>", (), {})
    assert (result.status, result.queue_name, result.enqueue_time) == (
        JobStatus.complete,
        queue.default_queue_name,
        datetime(1970, 1, 1, tzinfo=UTC),
    )
    assert result.start_time <= result.finish_time and not is_abort_result(result.success, result.result)
    assert (await queue.get_job_metadata(meta.id)).status is JobStatus.complete
    with pytest.raises(JobNotQueued):
        await queue.enqueue("tests.jobs.add", 1, 2, _job_id=meta.id)


async def test_a_job_that_expired_before_any_worker_reached_it_is_counted_until_one_does(
    backend: Backend,
) -> None:
    """Its entry stays in the queue, as in Redis: counted as queued (or deferred until its time)."""
    queue, start_worker = backend
    lonely = f"django-arq-tests:lonely-{uuid.uuid4().hex[:8]}"
    await queue.enqueue("tests.jobs.add", 1, 2, _queue_name=lonely, _defer_by=3600, _expires=0.05)
    due = await expired_unreached(queue, lonely)

    async def counts() -> tuple[int, int, int]:
        (c,) = await queue.count_jobs([lonely])
        return c.queued, c.deferred, c.in_progress

    assert await counts() == (1, 1, 0)
    with pytest.raises(JobNotFound):
        await queue.get_job_metadata(due.id, lonely)
    await start_worker(lonely)
    assert str((await expired_result(queue, due.id, lonely)).result) == "job expired"
    assert await counts() == (0, 1, 0)


async def test_unknown_ids(backend: Backend) -> None:
    queue, _ = backend
    job_id = new_id()
    with pytest.raises(JobNotFound) as excinfo:
        await queue.get_job_metadata(job_id)
    assert excinfo.value.job_id == job_id
    with pytest.raises(JobNotFound):
        await queue.get_job_result(job_id)
    assert await queue.abort_job(job_id) is False


@pytest.mark.parametrize("job_id", [123, None, b"id", 1.5])
async def test_reads_and_aborts_refuse_an_id_that_is_not_text(backend: Backend, job_id: Any) -> None:
    """As enqueue refuses it as a ``_job_id``: a TypeError, before anything is sent."""
    queue, _ = backend
    for call in (queue.get_job_metadata, queue.get_job_result, queue.get_job, queue.abort_job):
        with pytest.raises(TypeError, match="job id must be a string, not "):
            await call(job_id)


async def test_an_id_no_job_can_have_is_not_found(backend: Backend) -> None:
    """Text that no Redis key can hold (a lone surrogate, which enqueue refuses) names no job."""
    queue, _ = backend
    job_id = "contract-\udcff"
    for call in (queue.get_job_metadata, queue.get_job_result, queue.get_job):
        with pytest.raises(JobNotFound) as excinfo:
            await call(job_id)
        assert excinfo.value.job_id == job_id
    assert await queue.abort_job(job_id) is False


async def test_other_queue_names(backend: Backend) -> None:
    queue, _ = backend
    other = settings.TEST_OTHER_QUEUE
    waiting = await queue.enqueue("tests.jobs.add", 1, 1, _queue_name=other, _defer_by=60)
    assert waiting.queue_name == other
    assert (await queue.get_job_metadata(waiting.id, other)).status is JobStatus.deferred
    with pytest.raises(JobNotFound):
        await queue.get_job_metadata(waiting.id)  # not in the default queue
    meta = await queue.enqueue("tests.jobs.add", 20, 22, _queue_name=other)
    result = await finished(queue, meta.id, other)
    assert (result.result, result.queue_name) == (42, other)


async def test_abort_unknown_and_finished_jobs_return_false_promptly(backend: Backend) -> None:
    queue, _ = backend
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await queue.abort_job(new_id(), timeout=None) is False
    meta = await queue.enqueue("tests.jobs.add", 1, 2)
    await finished(queue, meta.id)
    assert await queue.abort_job(meta.id, timeout=None) is False
    assert loop.time() - started < 3


async def test_abort_of_a_job_that_expired_before_any_worker_reached_it_returns_false_promptly(
    backend: Backend,
) -> None:
    """Its entry is still in the queue, but no worker can run it: nothing is left to abort."""
    queue, _ = backend
    lonely = f"django-arq-tests:lonely-{uuid.uuid4().hex[:8]}"
    meta = await expired_unreached(queue, lonely)
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await queue.abort_job(meta.id, lonely, timeout=None) is False
    assert loop.time() - started < 3
    await queue.enqueue("tests.jobs.add", 5, 5, _job_id=meta.id)  # no abort request was left for it
    result = await finished(queue, meta.id)
    assert (result.success, result.result) == (True, 10)


async def test_abort_of_unknown_id_does_not_abort_a_later_job_with_that_id(backend: Backend) -> None:
    """arq issue #485: an abort of an unknown id must not linger and abort a later job."""
    queue, _ = backend
    job_id = new_id()
    assert await queue.abort_job(job_id) is False
    await queue.enqueue("tests.jobs.add", 5, 5, _job_id=job_id)
    result = await finished(queue, job_id)
    assert (result.success, result.result) == (True, 10)


async def test_abort_deferred_job(backend: Backend) -> None:
    queue, _ = backend
    meta = await queue.enqueue("tests.jobs.add", 1, 2, _defer_by=3600)
    assert await queue.abort_job(meta.id, timeout=10) is True
    result = await queue.get_job_result(meta.id)
    assert result.status is JobStatus.complete
    assert is_abort_result(result.success, result.result)


async def test_abort_running_job(backend: Backend) -> None:
    queue, _ = backend
    meta = await queue.enqueue("tests.jobs.sleep_for", 30)

    async def running() -> bool:
        return (await queue.get_job_metadata(meta.id)).status is JobStatus.in_progress

    await async_wait_for(running)
    assert await queue.abort_job(meta.id, timeout=10) is True
    result = await queue.get_job_result(meta.id)
    assert result.success is False and is_abort_result(result.success, result.result)


async def test_running_job_is_found_under_another_queue_name(backend: Backend) -> None:
    """As arq's Job.status(): a job in progress is found whatever queue name the caller gives."""
    queue, _ = backend
    meta = await queue.enqueue("tests.jobs.sleep_for", 30)

    async def running() -> bool:
        return (await queue.get_job_metadata(meta.id)).status is JobStatus.in_progress

    await async_wait_for(running)
    elsewhere = await queue.get_job_metadata(meta.id, f"contract-elsewhere-{uuid.uuid4().hex}")
    assert (elsewhere.id, elsewhere.status, elsewhere.args) == (meta.id, JobStatus.in_progress, (30,))
    assert await queue.abort_job(meta.id, timeout=10) is True


async def test_abort_of_an_aborted_job_returns_false(backend: Backend) -> None:
    queue, _ = backend
    meta = await queue.enqueue("tests.jobs.add", 1, 2, _defer_by=3600)
    assert await queue.abort_job(meta.id, timeout=10) is True
    assert await queue.abort_job(meta.id, timeout=10) is False
    assert is_abort_result((r := await queue.get_job_result(meta.id)).success, r.result)


async def test_abort_queued_job_is_confirmed_when_a_worker_picks_it_up(backend: Backend) -> None:
    queue, start_worker = backend
    lonely = f"django-arq-tests:lonely-{uuid.uuid4().hex[:8]}"
    meta = await queue.enqueue("tests.jobs.add", 1, 2, _queue_name=lonely)
    assert (await queue.get_job_metadata(meta.id, lonely)).status is JobStatus.queued
    abort = asyncio.create_task(queue.abort_job(meta.id, lonely, timeout=20))

    async def requested() -> bool:  # the abort request reaches Redis before any worker does
        if not isinstance(queue, RedisArqQueue):
            return abort.done()  # the mock aborts a queued job at once
        return await queue.async_client().zscore(abort_jobs_ss, meta.id) is not None

    await async_wait_for(requested)
    await start_worker(lonely)
    assert await abort is True
    result = await queue.get_job_result(meta.id, lonely)
    assert is_abort_result(result.success, result.result)


async def test_bulk_enqueue_is_all_or_nothing(backend: Backend) -> None:
    queue, _ = backend
    taken = new_id()
    await queue.enqueue("tests.jobs.add", 0, 0, _job_id=taken, _defer_by=60)
    fresh = new_id()
    with pytest.raises(JobNotQueued) as excinfo:
        await queue.enqueue_many(
            [JobSpec("tests.jobs.add", (1, 1), job_id=fresh), JobSpec("tests.jobs.add", job_id=taken)]
        )
    assert excinfo.value.job_ids == (taken,)
    with pytest.raises(JobNotFound):
        await queue.get_job_metadata(fresh)
    metas = await queue.enqueue_many([JobSpec("tests.jobs.add", (i, i)) for i in range(20)])
    assert len({m.id for m in metas}) == 20
    results = [await finished(queue, m.id) for m in metas]
    assert [r.result for r in results] == [2 * i for i in range(20)]
    with pytest.raises(JobNotQueued):
        await queue.enqueue_many(
            [JobSpec("tests.jobs.add", job_id=fresh), JobSpec("tests.jobs.add", job_id=fresh)]
        )


async def test_new_job_ids_are_random_uuid4_hex_and_given_ids_are_kept(backend: Backend) -> None:
    """As arq's: ``uuid4().hex`` where the caller gives none, also within a batch that gives some."""
    queue, _ = backend
    given = new_id()
    idle = f"{settings.TEST_QUEUE}:idle-{uuid.uuid4().hex}"  # no worker serves it: the jobs stay queued
    specs = [
        JobSpec("tests.jobs.add", (i, i), queue_name=idle, job_id=given if i == 3 else None)
        for i in range(300)
    ]
    metas = await queue.enqueue_many([*specs, JobSpec("tests.jobs.add", (0, 0), queue_name=idle)])
    assert metas[3].id == given
    fresh = [m.id for i, m in enumerate(metas) if i != 3]
    assert len(set(fresh)) == len(fresh) == 300
    for job_id in fresh:
        assert len(job_id) == 32 and uuid.UUID(job_id).hex == job_id
        assert uuid.UUID(job_id).version == 4 and uuid.UUID(job_id).variant == uuid.RFC_4122
    for meta in (metas[0], metas[3], metas[-1]):
        assert await queue.get_job_metadata(meta.id, idle) == meta
    single = await queue.enqueue("tests.jobs.add", 1, 1, _defer_by=60)
    assert uuid.UUID(single.id).version == 4 and single.id not in fresh


async def test_large_bulk_enqueue_spanning_two_queues(backend: Backend) -> None:
    """Batches larger than the script's chunk (500): one taken id far in refuses all of them."""
    queue, _ = backend
    other = f"contract-other-{uuid.uuid4().hex}"
    taken = new_id()
    await queue.enqueue("tests.jobs.add", 0, 0, _job_id=taken, _defer_by=60)
    specs = [
        JobSpec("tests.jobs.add", (i, i), queue_name=other if i % 2 else None, job_id=new_id(), defer_by=60)
        for i in range(1200)
    ]
    with pytest.raises(JobNotQueued) as excinfo:
        await queue.enqueue_many([*specs[:1100], JobSpec("tests.jobs.add", job_id=taken), *specs[1100:]])
    assert excinfo.value.job_ids == (taken,)
    for spec in specs[::97]:
        with pytest.raises(JobNotFound):
            await queue.get_job_metadata(spec.job_id or "", spec.queue_name)
    metas = await queue.enqueue_many(specs)
    assert [m.id for m in metas] == [s.job_id for s in specs]
    for spec in [*specs[::97], specs[-1]]:
        meta = await queue.get_job_metadata(spec.job_id or "", spec.queue_name)
        assert (meta.status, meta.args, meta.queue_name) == (
            JobStatus.deferred,
            spec.args,
            spec.queue_name or queue.default_queue_name,
        )


async def test_unserialisable_arguments_are_refused(backend: Backend) -> None:
    queue, _ = backend
    job_id = new_id()
    with pytest.raises(JobNotQueued, match="serialize"):
        await queue.enqueue("tests.jobs.echo", lambda: None, _job_id=job_id)
    with pytest.raises(JobNotFound):
        await queue.get_job_metadata(job_id)


class Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no text")


class RefusesPickling:
    """An argument whose serialization fails with an exception that cannot even be printed."""

    def __reduce__(self) -> Any:
        raise Unprintable


async def test_an_unserialisable_argument_whose_error_has_no_text_is_refused_all_the_same(
    backend: Backend,
) -> None:
    queue, _ = backend
    job_id = new_id()
    with pytest.raises(
        JobNotQueued, match=r"cannot serialize .*: <Unprintable object; str\(\) raised RuntimeError>"
    ):
        await queue.enqueue("tests.jobs.echo", RefusesPickling(), _job_id=job_id)
    with pytest.raises(JobNotFound):
        await queue.get_job_metadata(job_id)


def test_sync_twins(sync_queue: ArqQueue) -> None:
    queue = sync_queue
    meta = queue.enqueue_sync("tests.jobs.add", 1, 2, _defer_by=60)
    assert queue.get_job_metadata_sync(meta.id) == meta
    with pytest.raises(JobResultUnavailable):
        queue.get_job_result_sync(meta.id)
    with pytest.raises(JobNotQueued):
        queue.enqueue_sync("tests.jobs.add", _job_id=meta.id)
    (bulk,) = queue.enqueue_many_sync([JobSpec("tests.jobs.add", (3, 4), defer_by=60)])
    assert queue.get_job_metadata_sync(bulk.id).args == (3, 4)
    assert queue.abort_job_sync(new_id()) is False
    with pytest.raises(JobNotFound):
        queue.get_job_metadata_sync(new_id())


def test_sync_twins_from_threads(sync_queue: ArqQueue) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def work(i: int) -> tuple[int, ...]:
        meta = sync_queue.enqueue_sync("tests.jobs.add", i, i, _defer_by=60)
        return sync_queue.get_job_metadata_sync(meta.id).args

    with ThreadPoolExecutor(8) as pool:
        assert sorted(pool.map(work, range(200))) == [(i, i) for i in range(200)]


async def test_sync_twins_inside_a_running_loop(sync_queue: ArqQueue) -> None:
    """Blocking twins also work in a thread that runs an event loop (a sync helper called by async code)."""
    meta = sync_queue.enqueue_sync("tests.jobs.add", 1, 2, _defer_by=60)
    assert (await sync_queue.get_job_metadata(meta.id)).id == meta.id
    assert sync_queue.get_job_metadata_sync(meta.id) == meta


# -- progress reports ---------------------------------------------------------------------------


async def test_progress_is_none_until_a_job_reports(backend: Backend) -> None:
    queue, _ = backend
    waiting = await queue.enqueue("tests.jobs.report", 3, _defer_by=60)
    assert (await queue.get_job_metadata(waiting.id)).progress is None
    quiet = await queue.enqueue("tests.jobs.add", 1, 1)
    result = await finished(queue, quiet.id)
    assert result.progress is None
    assert (await queue.get_job_metadata(quiet.id)).progress is None
    assert (await queue.get_job(quiet.id)).progress is None


async def test_progress_of_a_running_job_is_read_with_its_metadata(backend: Backend) -> None:
    queue, _ = backend
    before = datetime.now(UTC)
    meta = await queue.enqueue("tests.jobs.report", 3, 4, hold=30)

    async def reported() -> bool:
        found = await queue.get_job_metadata(meta.id)
        return found.progress is not None and found.progress.done == 3

    await async_wait_for(reported, timeout=15)
    running = await queue.get_job_metadata(meta.id)
    assert running.status is JobStatus.in_progress
    progress = running.progress
    assert progress is not None
    assert (progress.done, progress.total, progress.fraction, progress.message) == (3, 4, 0.75, "step 3")
    assert before - timedelta(seconds=1) <= progress.time <= datetime.now(UTC) + timedelta(seconds=1)
    assert (await queue.get_job(meta.id)).progress == progress
    assert await queue.abort_job(meta.id, timeout=10) is True
    aborted = await queue.get_job_result(meta.id)
    assert is_abort_result(aborted.success, aborted.result)
    assert aborted.progress == progress  # the last report outlives the job, as its result


async def test_the_last_of_a_burst_of_reports_is_kept(backend: Backend) -> None:
    queue, _ = backend
    meta = await queue.enqueue("tests.jobs.report", 2000, 2000)
    await finished(queue, meta.id)

    async def last_kept() -> bool:
        found = await queue.get_job(meta.id)
        return found.progress is not None and found.progress.done == 2000

    await async_wait_for(last_kept, timeout=5)  # at the job's end, or one interval after it at most
    result = await queue.get_job_result(meta.id)
    assert result.progress is not None
    assert (result.progress.fraction, result.progress.message) == (1.0, "step 2000")
    assert (await queue.get_job_metadata(meta.id)).progress == result.progress


async def let_payload_expire(
    queue: ArqQueue, job_id: str, ttl: float, monkeypatch: pytest.MonkeyPatch, redis_client: Any
) -> None:
    """Let the ``_expires`` (``ttl`` s) of a job enqueued just before pass: Redis drops its payload
    (as its time to live would), the mock's clock moves past it."""
    if isinstance(queue, RedisArqQueue):
        redis_client.pexpire(job_key_prefix + job_id, 1)
        await async_wait_for(lambda: not redis_client.exists(job_key_prefix + job_id))
    else:
        ahead = int(ttl * 1000) + 1
        monkeypatch.setattr(mock, "timestamp_ms", lambda: timestamp_ms() + ahead)


async def test_a_running_job_whose_expires_passes_is_not_found_keeps_its_id_and_is_aborted(
    backend: Backend, monkeypatch: pytest.MonkeyPatch, redis_client: Any
) -> None:
    """As on Redis, where the payload a read needs is gone but the in-progress key stays: reads from
    any queue find no job, the id stays taken, and an abort from any queue stops the run."""
    queue, _ = backend
    meta = await queue.enqueue("tests.jobs.report", 1, 1, hold=3600, _job_id=new_id(), _expires=3600)

    async def running() -> bool:  # the job's own code runs: the worker has read the payload
        found = await queue.get_job_metadata(meta.id)
        return found.status is JobStatus.in_progress and found.progress is not None

    await async_wait_for(running)
    await let_payload_expire(queue, meta.id, 3600, monkeypatch, redis_client)
    for queue_name in (None, settings.TEST_OTHER_QUEUE):
        with pytest.raises(JobNotFound):
            await queue.get_job_metadata(meta.id, queue_name)
        with pytest.raises(JobNotFound):
            await queue.get_job_result(meta.id, queue_name)
    with pytest.raises(JobNotQueued):
        await queue.enqueue("tests.jobs.add", 1, 2, _job_id=meta.id, _defer_by=3600)
    assert await queue.abort_job(meta.id, settings.TEST_OTHER_QUEUE, timeout=10) is True
    result = await queue.get_job_result(meta.id, settings.TEST_OTHER_QUEUE)
    assert is_abort_result(result.success, result.result)
    assert (result.name, result.args, result.kwargs) == ("tests.jobs.report", (1, 1), {"hold": 3600})
    assert result.queue_name == settings.TEST_QUEUE
