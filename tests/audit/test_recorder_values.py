"""The worker's recorder: results, errors and names a database refuses are recorded visibly,
records agree with what Redis holds, and a refused record never holds up the others."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from django_arq import get_queue
from django_arq.audit.payloads import JsonText
from django_arq.audit.recorder import UNSERIALIZABLE, Creation, JobRecorder, Pending
from django_arq.audit.writer import flush_records
from django_arq.models import JobRecord
from django_arq.queues.serializers import SerializedError
from tests.audit.burst import run_burst

pytestmark = pytest.mark.django_db(transaction=True)

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


async def records(*ids: str) -> dict[str, JobRecord]:
    return {r.job_id: r async for r in JobRecord.objects.filter(job_id__in=ids)}


async def test_results_and_errors_a_database_refuses_are_recorded_visibly(
    audit_jobs: None, queue_name: str
) -> None:
    queue = get_queue()
    nul = await queue.enqueue("tests.audit.jobs.give", "a\x00b", _queue_name=queue_name)
    nested = await queue.enqueue("tests.audit.jobs.give", {"k\ud800": ["\x00"]}, _queue_name=queue_name)
    failed = await queue.enqueue("tests.audit.jobs.fail", "boom\x00\udfff", _queue_name=queue_name)
    plain = await queue.enqueue("tests.audit.jobs.give", 7, _queue_name=queue_name)
    await run_burst(queue_name)
    found = await records(nul.id, nested.id, failed.id, plain.id)
    assert all(r.status == "complete" for r in found.values())
    assert (found[nul.id].success, found[nul.id].result) == (True, "a\ufffdb")
    assert found[nested.id].result == {"k\ufffd": ["\ufffd"]}
    assert found[failed.id].success is False and "ValueError: boom\ufffd\ufffd" in found[failed.id].error
    assert (found[plain.id].success, found[plain.id].result) == (True, 7)
    assert await sync_to_async(flush_records)()


async def test_an_unserializable_result_is_the_failure_redis_holds(audit_jobs: None, queue_name: str) -> None:
    queue = get_queue()
    lock = await queue.enqueue("tests.audit.jobs.unpicklable", _queue_name=queue_name)
    text = await queue.enqueue("tests.audit.jobs.give", UNSERIALIZABLE, _queue_name=queue_name)
    await run_burst(queue_name)
    in_redis = await queue.get_job_result(lock.id, queue_name)
    assert in_redis.success is False and isinstance(in_redis.result, SerializedError)
    failure = {"exception": in_redis.result.type_name, "message": in_redis.result.message}
    assert failure == {
        "exception": "django_arq.queues.storable.UnserializableResult",
        "message": "the job's result, a _thread.lock, cannot be serialized: "
        "builtins.TypeError: cannot pickle '_thread.lock' object",
    }
    found = await records(lock.id, text.id)
    record = found[lock.id]
    assert (record.success, record.result) == (False, failure)
    assert "TypeError: cannot pickle '_thread.lock' object" in record.error  # where pickling failed
    # a job that returns that text itself succeeded
    assert (found[text.id].success, found[text.id].result) == (True, UNSERIALIZABLE)
    assert await sync_to_async(flush_records)()


def test_a_record_the_database_refuses_does_not_hold_up_the_others(caplog: pytest.LogCaptureFixture) -> None:
    recorder = JobRecorder("default", "q")
    try:

        def started(try_count: int) -> Pending:
            create = Creation("tests.jobs.add", ("\x00",), {}, T0, "q" * 300)
            return Pending({"status": "in_progress", "start_time": T0, "job_try": try_count}, create)

        with caplog.at_level(logging.ERROR, logger="django_arq.records"):
            recorder._write({"r1": started(1), "r-refused": started(-1), "r2\x00": started(2)})
    finally:
        recorder._executor.shutdown()
    stored = {r.job_id: r for r in JobRecord.objects.all()}
    assert set(stored) == {"r1", "r2\ufffd"}
    assert (stored["r1"].args, stored["r1"].queue_name) == (["\ufffd"], "q" * 254 + "\u2026")
    assert "alias 'default', job 'r-refused'" in caplog.text


def test_the_recorder_updates_the_record_the_enqueue_side_wrote_under_a_long_id() -> None:
    """Both sides make a job id storable the same way, so the worker finds the record."""
    job_id = "x" * 300 + "\x00"
    meta = get_queue("mock").enqueue_sync("tests.jobs.add", 1, 2, _job_id=job_id)
    assert flush_records()
    recorder = JobRecorder("mock", "q")
    try:
        update: dict[str, Any] = {"status": "complete", "success": True, "result": 3, "finish_time": T0}
        recorder._write({meta.id: Pending(update)})
    finally:
        recorder._executor.shutdown()
    (record,) = JobRecord.objects.filter(alias="mock")
    assert (record.status, record.result, record.args, len(record.job_id)) == ("complete", 3, [1, 2], 255)


def test_a_record_refused_for_its_json_values_is_written_in_its_safe_form(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """JSON text the database refuses (here not JSON at all) stands in for any value it cannot take:
    the record is written with its JSON values replaced, its other fields kept."""
    refused = JsonText("{not json")
    JobRecord.objects.create(
        job_id="existing", name="tests.jobs.add", args=[1], enqueue_time=T0, queue_name="q"
    )
    ended = {"status": "complete", "finish_time": T0, "success": True, "result": refused}
    create = {"name": "tests.jobs.echo", "args": refused, "kwargs": JsonText("{}"), "enqueue_time": T0,
              "queue_name": "q\u00e9", "trace_id": ""}  # fmt: skip
    recorder = JobRecorder("default", "q")
    try:
        with caplog.at_level(logging.ERROR, logger="django_arq.records"):
            recorder._write({"existing": Pending(dict(ended)), "missing": Pending(dict(ended), create)})
    finally:
        recorder._executor.shutdown()
    stored = {r.job_id: r for r in JobRecord.objects.all()}
    not_storable = {"repr": "<not storable>"}
    assert (stored["existing"].status, stored["existing"].result, stored["existing"].args) == (
        "complete", not_storable, [1],
    )  # fmt: skip
    missing = stored["missing"]
    assert (missing.name, missing.args, missing.kwargs, missing.queue_name) == (
        "tests.jobs.echo", [not_storable], not_storable, "q\\xe9",
    )  # fmt: skip
    assert (missing.status, missing.success, missing.result) == ("complete", True, not_storable)
    assert "alias 'default', job 'missing'" in caplog.text and "safe form" in caplog.text


async def test_an_unserializable_exception_is_recorded_with_its_traceback(
    audit_jobs: None, queue_name: str
) -> None:
    """Redis holds its class and message as text, and the record its traceback."""
    queue = get_queue()
    job = await queue.enqueue("tests.audit.jobs.fail_unpicklably", _queue_name=queue_name)
    await run_burst(queue_name)
    in_redis = await queue.get_job_result(job.id, queue_name)
    assert in_redis.success is False and isinstance(in_redis.result, SerializedError)
    assert in_redis.result.type_name == "tests.audit.jobs.Unpicklable"
    assert in_redis.result.message.endswith("builtins.TypeError: cannot pickle '_thread.lock' object)")
    record = (await records(job.id))[job.id]
    assert (record.status, record.success) == ("complete", False)
    assert record.error.startswith("Traceback (most recent call last):")
    assert "tests.audit.jobs.Unpicklable: <unlocked _thread.lock object" in record.error
    assert record.result == {"exception": in_redis.result.type_name, "message": in_redis.result.message}
