"""Reads and aborts beyond the contract suite: ``get_job`` on a queue of its own, and what an
abort that is waiting for a worker does when the job's result cannot be read."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid

import pytest
from arq.constants import abort_jobs_ss
from arq.jobs import serialize_result
from arq.utils import timestamp_ms
from django.conf import settings

from django_arq import (
    ArqJobError,
    ArqQueue,
    JobMetadata,
    JobNotFound,
    JobResultUnavailable,
    JobSpec,
    JobStatus,
    RedisArqQueue,
)
from django_arq.queues.progress import encode_progress, make_progress, progress_key
from tests.api.conftest import lonely_queue
from tests.core.test_redis_backend import abort_in_thread
from tests.helpers import wait_for

__all__ = ["lonely_queue"]  # a fixture


def test_get_job_reads_the_queue_it_is_given(sync_queue: ArqQueue, redis_client) -> None:
    other = f"{settings.TEST_QUEUE}:reads-{uuid.uuid4().hex}"
    meta = sync_queue.enqueue_sync("tests.jobs.add", 1, 2, _queue_name=other, _defer_by=3600)
    found = sync_queue.get_job_sync(meta.id, other)
    assert type(found) is JobMetadata
    assert (found.id, found.queue_name, found.status, found.args) == (
        meta.id,
        other,
        JobStatus.deferred,
        (1, 2),
    )
    with pytest.raises(
        JobNotFound, match=f"job '{meta.id}' not found in queue '{sync_queue.default_queue_name}'"
    ):
        sync_queue.get_job_sync(meta.id)
    with pytest.raises(JobResultUnavailable, match=f"job '{meta.id}' is deferred; it has no result yet"):
        sync_queue.get_job_result_sync(meta.id, other)
    unknown = uuid.uuid4().hex
    with pytest.raises(JobNotFound, match=f"job '{unknown}' not found in queue '{other}'"):
        sync_queue.get_job_result_sync(unknown, other)
    redis_client.delete(other, f"arq:job:{meta.id}")


def abort_meeting_a_result(redis_url: str, redis_client, queue_name: str, result: bytes) -> tuple[str, list]:
    """A job's abort, waiting for a worker, meets ``result``, as if a worker had just written it:
    the job's id and what ``abort_job_sync`` returned or raised."""
    queue = RedisArqQueue(redis_url, default_queue_name=queue_name)
    meta = queue.enqueue_sync("tests.jobs.add", 1, 2)
    try:
        thread, outcome = abort_in_thread(queue, meta.id, queue_name)
        wait_for(lambda: redis_client.zscore(abort_jobs_ss, meta.id) is not None)
        with redis_client.pipeline() as pipe:
            pipe.set(f"arq:result:{meta.id}", result).zrem(queue_name, meta.id).execute()
        thread.join(60)
        return meta.id, outcome
    finally:
        redis_client.delete(f"arq:result:{meta.id}")
        redis_client.zrem(abort_jobs_ss, meta.id)
        queue.close()


def test_an_unreadable_result_met_while_an_abort_waits_names_the_job(
    redis_url: str, redis_client, lonely_queue: str
) -> None:
    """A result another client wrote, in no format arq reads."""
    job_id, (error,) = abort_meeting_a_result(redis_url, redis_client, lonely_queue, b"\x00not a result")
    assert isinstance(error, ArqJobError) and error.job_id == job_id
    assert str(error).startswith(
        f"job {job_id!r} cannot be read with the 'pickle' serializer (Deserialization"
    )
    assert str(error).endswith("; was it written by a client with another SERIALIZER?")


@pytest.mark.parametrize(("success", "aborted"), [(True, False), (False, True)])
def test_only_a_failed_cancelled_error_is_reported_aborted(
    success: bool, aborted: bool, redis_url: str, redis_client, lonely_queue: str
) -> None:
    """A failed result of CancelledError is arq's record of an abort, as a worker writes it while the
    abort waits; the same value returned by a job is not."""
    now = timestamp_ms()
    value = asyncio.CancelledError()
    result = serialize_result(
        "tests.jobs.add", (1, 2), {}, 1, now, success, value, now, now, "ref", lonely_queue, "j"
    )
    _, outcome = abort_meeting_a_result(redis_url, redis_client, lonely_queue, result)
    assert outcome == [aborted]


def test_an_abort_no_worker_confirms_waits_its_whole_timeout_and_keeps_the_request(
    redis_url: str, redis_client, lonely_queue: str
) -> None:
    queue = RedisArqQueue(redis_url, default_queue_name=lonely_queue)
    try:
        meta = queue.enqueue_sync("tests.jobs.add", 1, 2)
        started = time.monotonic()
        with pytest.raises(TimeoutError) as info:
            queue.abort_job_sync(meta.id, timeout=1.5)
        assert time.monotonic() - started >= 1.5  # a lower bound only: a busy machine waits longer
        assert str(info.value) == (
            f"no worker confirmed the abort of job {meta.id!r} within 1.5s; "
            "the request stays until a worker picks the job up"
        )
        assert redis_client.zscore(abort_jobs_ss, meta.id) is not None
    finally:
        redis_client.zrem(abort_jobs_ss, meta.id)
        queue.close()


def test_metadata_of_a_finished_job_is_metadata_and_unreadable_payloads_name_their_job(
    redis_url: str, redis_client, lonely_queue: str
) -> None:
    queue = RedisArqQueue(redis_url, default_queue_name=lonely_queue)
    done, bad_result, bad_payload = (f"reads-{uuid.uuid4().hex}" for _ in range(3))
    now = timestamp_ms()
    result = serialize_result(
        "tests.jobs.add", (1, 2), {}, 1, now, True, 3, now, now, "ref", lonely_queue, done
    )
    redis_client.set(f"arq:result:{done}", result)
    redis_client.set(f"arq:result:{bad_result}", b"\x00not a result")
    redis_client.set(f"arq:job:{bad_payload}", b"\x00not a job")
    redis_client.zadd(lonely_queue, {bad_payload: now})
    try:
        meta = queue.get_job_metadata_sync(done)
        assert type(meta) is JobMetadata
        assert (meta.id, meta.status, meta.args) == (done, JobStatus.complete, (1, 2))
        for job_id, read in (
            (bad_result, queue.get_job_result_sync),
            (bad_payload, queue.get_job_metadata_sync),
        ):
            with pytest.raises(ArqJobError) as info:
                read(job_id)
            assert info.value.job_id == job_id
            assert str(info.value).startswith(f"job {job_id!r} cannot be read with the 'pickle' serializer")
    finally:
        redis_client.delete(f"arq:result:{done}", f"arq:result:{bad_result}", f"arq:job:{bad_payload}")
        queue.close()


def test_a_queue_without_tracing_enqueues_and_reads_back(
    redis_url: str, redis_client, lonely_queue: str
) -> None:
    """``TRACING`` off (or OpenTelemetry absent): the enqueue path without a tracer."""
    queue = RedisArqQueue(redis_url, default_queue_name=lonely_queue, tracing=False)
    given = f"untraced-{uuid.uuid4().hex}"
    try:
        first, second = queue.enqueue_many_sync(
            [JobSpec("tests.jobs.add", (1, 2), job_id=given), JobSpec("tests.jobs.add", (3, 4))]
        )
        assert (first.id, first.args, first.trace_id) == (given, (1, 2), None)
        assert uuid.UUID(hex=second.id).version == 4 and second.trace_id is None
        assert queue.get_job_metadata_sync(second.id).args == (3, 4)
        assert queue.get_job_metadata_sync(given).status is JobStatus.queued
    finally:
        queue.close()


def test_reads_of_a_queued_job_name_its_queue_and_a_missing_result_names_the_job(
    redis_url: str, lonely_queue: str
) -> None:
    queue = RedisArqQueue(redis_url, default_queue_name=f"{lonely_queue}:default")
    try:
        meta = queue.enqueue_sync("tests.jobs.add", 1, 2, _queue_name=lonely_queue, _defer_by=3600)
        found = queue.get_job_metadata_sync(meta.id, lonely_queue)
        assert (found.id, found.queue_name, found.status) == (meta.id, lonely_queue, JobStatus.deferred)
        with pytest.raises(JobNotFound, match=f"not found in queue '{lonely_queue}:default'"):
            queue.get_job_metadata_sync(meta.id)
        with pytest.raises(JobResultUnavailable) as info:
            queue.get_job_result_sync(meta.id, lonely_queue)
        assert info.value.job_id == meta.id
    finally:
        queue.close()


def test_a_finished_job_is_read_with_every_field_of_its_result_and_its_last_progress_report(
    redis_url: str, redis_client, lonely_queue: str
) -> None:
    """A result as a worker writes it, each field its own value, read without a worker."""
    job_id = f"reads-{uuid.uuid4().hex}"
    et, st, ft = timestamp_ms() - 3000, timestamp_ms() - 2000, timestamp_ms() - 1000
    result = serialize_result(
        "tests.jobs.add",
        (1, 2),
        {"k": "v"},
        2,
        et,
        False,
        ValueError("boom"),
        st,
        ft,
        "ref",
        lonely_queue,
        job_id,
    )
    report = make_progress(3, 4, "three of four", dt.datetime(2026, 1, 2, tzinfo=dt.UTC))
    redis_client.set(f"arq:result:{job_id}", result)
    redis_client.set(progress_key(job_id), encode_progress(report))
    queue = RedisArqQueue(redis_url, default_queue_name=f"{lonely_queue}:default")
    try:
        found = queue.get_job_result_sync(job_id)
        assert (found.id, found.name, found.args, found.kwargs, found.status) == (
            job_id,
            "tests.jobs.add",
            (1, 2),
            {"k": "v"},
            JobStatus.complete,
        )
        assert (found.enqueue_time, found.start_time, found.finish_time) == tuple(
            dt.datetime.fromtimestamp(ms / 1000, dt.UTC) for ms in (et, st, ft)
        )
        assert found.queue_name == lonely_queue
        assert found.success is False and isinstance(found.result, ValueError)
        assert found.progress == report
    finally:
        redis_client.delete(f"arq:result:{job_id}", progress_key(job_id))
        queue.close()


def test_a_running_job_is_read_in_progress_with_its_report_and_an_unknown_one_is_named(
    redis_url: str, redis_client, lonely_queue: str
) -> None:
    queue = RedisArqQueue(redis_url, default_queue_name=lonely_queue)
    report = make_progress(1, 2, "half", dt.datetime(2026, 1, 2, tzinfo=dt.UTC))
    try:
        meta = queue.enqueue_sync("tests.jobs.add", 1, 2)
        redis_client.psetex(f"arq:in-progress:{meta.id}", 60_000, b"1")  # as a worker claims it
        redis_client.set(progress_key(meta.id), encode_progress(report))
        found = queue.get_job_metadata_sync(meta.id)
        assert (found.status, found.progress) == (JobStatus.in_progress, report)
        unknown = uuid.uuid4().hex
        with pytest.raises(JobNotFound) as info:
            queue.get_job_metadata_sync(unknown)
        assert info.value.job_id == unknown
    finally:
        redis_client.delete(f"arq:in-progress:{meta.id}", progress_key(meta.id))
        queue.close()
