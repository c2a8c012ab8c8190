"""MockArqQueue's async calls and their sync twins, each given a queue other than the default, an
alias's tracing switch, and a retry "at once" under a clock that does not move."""

from __future__ import annotations

from typing import Any

import pytest
from arq.worker import Retry

from django_arq import JobNotFound, JobResultUnavailable, JobStatus, MockArqQueue
from django_arq.queues import mock
from django_arq.queues.arq_internals import timestamp_ms
from django_arq.queues.base import QueueConfig
from django_arq.queues.mock import MAX_TRIES


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


async def test_a_job_retrying_at_once_is_run_again_in_the_same_millisecond(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``Retry()`` without a delay makes the job due at once: not a millisecond later."""
    now = timestamp_ms()
    monkeypatch.setattr(mock, "timestamp_ms", lambda: now)
    queue = MockArqQueue()
    tries: list[int] = []

    async def retry_now(ctx: dict[str, Any]) -> None:
        tries.append(ctx["job_try"])
        raise Retry()

    meta = await queue.enqueue("retry_now")
    (result,) = await queue.run_queued({"retry_now": retry_now})
    assert tries == list(range(1, MAX_TRIES + 1))
    assert (result.id, result.success, str(result.result)) == (
        meta.id,
        False,
        f"max {MAX_TRIES} retries exceeded",
    )
