"""MockArqQueue's async calls and their sync twins, each given a queue other than the default, and
an alias's tracing switch."""

from __future__ import annotations

import pytest

from django_arq import JobNotFound, JobResultUnavailable, JobStatus, MockArqQueue
from django_arq.queues.base import QueueConfig


async def test_each_async_call_reads_and_aborts_in_the_queue_it_is_given() -> None:
    queue = MockArqQueue()
    meta = await queue.enqueue("tests.jobs.add", 1, 2, _queue_name="other")
    read = await queue.get_job_metadata(meta.id, "other")
    assert (read.id, read.queue_name, read.status) == (meta.id, "other", JobStatus.queued)
    with pytest.raises(JobResultUnavailable) as unavailable:
        await queue.get_job_result(meta.id, "other")
    assert unavailable.value.job_id == meta.id
    assert str(unavailable.value) == f"job {meta.id!r} is queued; it has no result yet"
    with pytest.raises(JobNotFound):
        await queue.get_job_result(meta.id)  # not in the default queue
    assert await queue.abort_job(meta.id) is False
    assert await queue.abort_job(meta.id, "other") is True
    result = await queue.get_job_result(meta.id, "other")
    assert (result.id, result.queue_name, result.success) == (meta.id, "other", False)


def test_each_sync_call_reads_in_the_queue_it_is_given() -> None:
    queue = MockArqQueue()
    meta = queue.enqueue_sync("tests.jobs.add", 1, 2, _queue_name="other")
    read = queue.get_job_metadata_sync(meta.id, "other")
    assert (read.id, read.queue_name, read.status) == (meta.id, "other", JobStatus.queued)
    with pytest.raises(JobNotFound):
        queue.get_job_metadata_sync(meta.id)
    with pytest.raises(JobResultUnavailable) as unavailable:
        queue.get_job_result_sync(meta.id, "other")
    assert unavailable.value.job_id == meta.id
    with pytest.raises(JobNotFound):
        queue.get_job_result_sync(meta.id)


async def test_a_finished_job_keeps_its_queue_and_is_read_from_any() -> None:
    queue = MockArqQueue()
    meta = await queue.enqueue("tests.jobs.add", 1, 2, _queue_name="other")
    await queue.set_in_progress(meta.id, "other")
    running = queue.get_job_sync(meta.id, "other")
    assert (running.status, running.queue_name) == (JobStatus.in_progress, "other")
    result = await queue.set_complete(meta.id, result=3, queue_name="other")
    assert (result.queue_name, result.status, result.result) == ("other", JobStatus.complete, 3)
    assert queue.get_job_result_sync(meta.id) == result == await queue.get_job(meta.id)
    assert (await queue.get_job_metadata(meta.id)).queue_name == "other"


def test_an_alias_s_tracing_switch_reaches_the_mock() -> None:
    untraced = MockArqQueue.from_config(QueueConfig(backend="django_arq.MockArqQueue", tracing=False))
    assert untraced.tracing is False
    traced = MockArqQueue.from_config(QueueConfig(backend="django_arq.MockArqQueue"))
    assert traced.tracing is True
