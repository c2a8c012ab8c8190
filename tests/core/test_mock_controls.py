"""The mock's test controls and inspection: marking a job running or finished, counting and
listing the jobs of a queue, and an alias's settings reaching the mock."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from django_arq import JobNotFound, JobNotQueued, JobResult, JobResultUnavailable, JobStatus, MockArqQueue
from django_arq.queues.base import DEFAULT_ABORT_TIMEOUT, QueueConfig
from django_arq.queues.jobs import JobSpec, QueueCounts


async def test_set_in_progress_finds_the_job_in_its_queue_and_marks_it_running_from_then() -> None:
    queue = MockArqQueue()
    meta = await queue.enqueue("tests.jobs.add", 1, 2, _queue_name="other")
    with pytest.raises(JobNotFound):
        await queue.set_in_progress(meta.id)  # not in the default queue
    before = datetime.now(UTC)
    await queue.set_in_progress(meta.id, queue_name="other")
    marked = datetime.now(UTC)
    assert (await queue.get_job_metadata(meta.id, "other")).status is JobStatus.in_progress
    await queue.set_in_progress(meta.id, queue_name="other")  # again: the first start is kept
    while datetime.now(UTC) <= marked:  # the clock moves past the mark before the job finishes
        pass
    result = await queue.set_complete(meta.id, result=3, queue_name="other")
    assert result.start_time is not None and result.start_time.tzinfo is UTC
    assert before <= result.start_time <= marked < result.finish_time
    assert (result.success, result.result, result.status) == (True, 3, JobStatus.complete)


async def test_counts_and_lists_of_each_queue_s_jobs() -> None:
    queue = MockArqQueue(default_queue_name="a")
    running, _, _ = [(await queue.enqueue("tests.jobs.add", i, i)).id for i in range(3)]
    deferred = await queue.enqueue("tests.jobs.add", _defer_by=3600)
    other = await queue.enqueue("tests.jobs.add", _queue_name="b")
    await queue.set_in_progress(running)
    expected = [QueueCounts("a", 2, 1, 1), QueueCounts("b", 1, 0, 0), QueueCounts("c", 0, 0, 0)]
    assert queue.count_jobs_sync(["a", "b", "c"]) == expected
    assert await queue.count_jobs(["a", "b", "c"]) == expected
    by_id = {m.id: m for m in queue.jobs("a")}
    assert len(by_id) == 4 and other.id not in by_id
    assert (by_id[running].status, by_id[deferred.id].status) == (JobStatus.in_progress, JobStatus.deferred)
    assert [(m.id, m.queue_name) for m in queue.jobs("b")] == [(other.id, "b")]
    assert {m.id for m in queue.jobs()} == {*by_id, other.id}


async def test_jobs_lists_no_job_that_expired_before_it_ran() -> None:
    queue = MockArqQueue(default_queue_name="a")
    kept = await queue.enqueue("tests.jobs.add", 1, 2)
    await queue.enqueue("tests.jobs.add", 1, 2, _expires=0.01)
    await asyncio.sleep(0.05)
    assert [m.id for m in queue.jobs("a")] == [m.id for m in queue.jobs()] == [kept.id]
    assert queue.count_jobs_sync(["a"]) == [QueueCounts("a", 2, 0, 0)]  # as Redis counts it


def test_an_alias_s_settings_reach_the_mock() -> None:
    config = QueueConfig(
        backend="django_arq.MockArqQueue",
        default_queue_name="q",
        serializer="json",
        abort_timeout=7,
        worker={"PROGRESS_INTERVAL": 0.5},
    )
    queue = MockArqQueue.from_config(config)
    assert (queue.default_queue_name, queue.serializer.name, queue.abort_timeout) == ("q", "json", 7)
    assert queue.progress_interval == 0.5
    default = MockArqQueue.from_config(QueueConfig(backend="django_arq.MockArqQueue"))
    assert default.progress_interval == MockArqQueue().progress_interval


async def test_reads_and_aborts_of_a_job_in_another_queue() -> None:
    queue = MockArqQueue()
    meta = await queue.enqueue("tests.jobs.add", 1, 2, _queue_name="other")
    found = await queue.get_job(meta.id, "other")
    assert (found.id, found.queue_name, found.status) == (meta.id, "other", JobStatus.queued)
    with pytest.raises(JobNotFound):
        await queue.get_job(meta.id)
    with pytest.raises(JobResultUnavailable):
        await queue.get_job_result(meta.id, "other")
    assert queue.abort_job_sync(meta.id) is False  # not in the default queue
    assert queue.abort_job_sync(meta.id, "other") is True
    aborted = await queue.get_job(meta.id, "other")
    assert isinstance(aborted, JobResult) and aborted.success is False
    assert (await queue.get_job_result(meta.id, "other")) == aborted


async def test_set_complete_finds_a_queued_job_in_its_queue() -> None:
    queue = MockArqQueue()
    meta = await queue.enqueue("tests.jobs.add", 1, 2, _queue_name="other")
    with pytest.raises(JobNotFound):
        await queue.set_complete(meta.id, result=3)  # not in the default queue
    assert (await queue.set_complete(meta.id, result=3, queue_name="other")).result == 3


def test_a_mock_s_defaults_are_a_redis_queue_s() -> None:
    queue = MockArqQueue()
    assert (queue.default_queue_name, queue.serializer.name, queue.abort_timeout) == (
        "arq:queue",
        "pickle",
        DEFAULT_ABORT_TIMEOUT,
    )
    assert queue.tracing is True


async def test_a_job_not_found_names_its_id_and_the_queue_looked_in() -> None:
    queue = MockArqQueue()
    meta = await queue.enqueue("tests.jobs.add", 1, 2, _queue_name="other")
    with pytest.raises(JobNotFound) as excinfo:
        await queue.get_job_metadata(meta.id)
    assert excinfo.value.job_id == meta.id
    assert str(excinfo.value) == f"job {meta.id!r} not found in queue 'arq:queue'"


async def test_arguments_the_serializer_cannot_encode_are_refused_naming_the_job_and_serializer() -> None:
    queue = MockArqQueue(serializer="json")
    with pytest.raises(JobNotQueued) as excinfo:
        await queue.enqueue("tests.jobs.add", object(), _job_id="unencodable")
    assert excinfo.value.job_id == "unencodable"
    assert str(excinfo.value).startswith(
        "cannot serialize the arguments of 'tests.jobs.add' with the json serializer: "
    )
    assert queue.jobs() == []


async def test_the_name_check_sees_the_jobs_and_refuses_them_before_anything_is_kept() -> None:
    queue = MockArqQueue()
    seen: list[list[str]] = []

    def refuse(jobs: Sequence[JobSpec]) -> None:
        seen.append([j.name for j in jobs])
        raise LookupError("not allowed")

    queue.name_check = refuse
    with pytest.raises(LookupError, match="not allowed"):
        await queue.enqueue_many([JobSpec("a"), JobSpec("b")])
    with pytest.raises(LookupError, match="not allowed"):
        queue.enqueue_many_sync([JobSpec("c")])
    assert seen == [["a", "b"], ["c"]] and queue.jobs() == []
