"""A job whose outcome its alias's serializer cannot store as it is: every view of it agrees that it
failed (its record, its stored result, the metrics, its run span, arq's log line), names why, and
the worker runs on."""

from __future__ import annotations

import logging

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from prometheus_client import REGISTRY

from django_arq import get_queue
from django_arq.audit.writer import flush_records
from django_arq.models import JobRecord
from django_arq.queues import storable
from django_arq.queues.serializers import SerializedError
from django_arq.worker import create_worker
from tests.audit.burst import run_burst
from tests.helpers import wait_for
from tests.tracing.conftest import spans, tracer
from tests.worker.conftest import WorkerRunner
from tests.worker.unstorable import FUNCTIONS

__all__ = ["spans", "tracer"]

pytestmark = pytest.mark.django_db(transaction=True)

UNSERIALIZABLE = "django_arq.queues.storable.UnserializableResult"
#: job -> (the class path its stored failure names, text its message and its record's error hold)
FAILURES = {
    "returns_lock": {
        "pickle": (UNSERIALIZABLE, "a _thread.lock, cannot be serialized: builtins.TypeError: cannot pickle"),
        "json": (UNSERIALIZABLE, "a _thread.lock, cannot be serialized: builtins.TypeError: lock values"),
    },
    "returns_unshowable": {
        "pickle": (UNSERIALIZABLE, "cannot be shown (its repr() failed): builtins.RuntimeError: no repr"),
        "json": (UNSERIALIZABLE, "cannot be shown (its repr() failed): builtins.RuntimeError: no repr"),
    },
    "raises_needs_two": {
        "pickle": ("tests.worker.unstorable.NeedsTwo", "first (stored as text: it cannot be serialized"),
        "json": ("tests.worker.unstorable.NeedsTwo", "first"),
    },
    "raises_holding_lock": {
        "pickle": ("tests.worker.unstorable.HoldsLock", "<unlocked _thread.lock object"),
        "json": ("tests.worker.unstorable.HoldsLock", "<unlocked _thread.lock object"),
    },
}


@pytest.fixture(params=["pickle", "json"])
def serializer(request: pytest.FixtureRequest, settings) -> str:  # type: ignore[no-untyped-def]
    """The default alias in that serializer, traced, its worker metered and running these jobs."""
    settings.ARQ_METRICS = True
    default = settings.ARQ_QUEUES["default"]
    worker = {"FUNCTIONS": FUNCTIONS, "POLL_DELAY": 0.02, "RECORD_FLUSH_INTERVAL": 0.02}
    settings.ARQ_QUEUES = {
        **settings.ARQ_QUEUES,
        "default": {**default, "SERIALIZER": request.param, "TRACING": True, "WORKER": worker},
    }
    return str(request.param)


def finished(job_ids: list[str]) -> bool:
    flush_records()
    return JobRecord.objects.filter(job_id__in=job_ids, status="complete").count() == len(job_ids)


def counted(queue_name: str, function: str, outcome: str) -> float:
    labels = {"alias": "default", "queue": queue_name, "function": function}
    return REGISTRY.get_sample_value(f"django_arq_jobs_{outcome}_total", labels) or 0


async def test_every_view_of_an_unstorable_outcome_says_it_failed_and_why(
    serializer: str, queue_name: str, spans: InMemorySpanExporter, caplog: pytest.LogCaptureFixture
) -> None:
    queue = get_queue()
    jobs = {
        name: await queue.enqueue(f"tests.worker.unstorable.{name}", _queue_name=queue_name)
        for name in FAILURES
    }
    big = await queue.enqueue("tests.worker.unstorable.returns_big", 8, _queue_name=queue_name)
    worker = create_worker(queue_name=queue_name, burst=True, handle_signals=False)
    with caplog.at_level(logging.INFO, logger="arq.worker"):
        try:
            await worker.async_run()
        finally:
            await worker.close()
    assert (worker.jobs_complete, worker.jobs_failed) == (1, len(FAILURES))  # arq's own count agrees

    records = {r.job_id: r async for r in JobRecord.objects.filter(job_id__in=[j.id for j in jobs.values()])}
    run_spans = {
        s.attributes["arq.job.id"]: s for s in spans.get_finished_spans() if s.name.startswith("run ")
    }
    arq_lines = [r.getMessage() for r in caplog.records if r.name == "arq.worker"]
    for name, job in jobs.items():
        kind, text = FAILURES[name][serializer]
        function = f"tests.worker.unstorable.{name}"
        stored = await queue.get_job_result(job.id, queue_name)
        assert stored.success is False, name
        assert isinstance(stored.result, SerializedError), (name, stored.result)
        assert (stored.result.type_name, text in stored.result.message) == (kind, True), (name, stored.result)
        record = records[job.id]
        assert (record.status, record.success, record.result["exception"]) == ("complete", False, kind), name
        assert text in record.result["message"] and text in record.error, (name, record.error)
        assert (counted(queue_name, function, "failed"), counted(queue_name, function, "succeeded")) == (1, 0)
        span = run_spans[job.id]
        assert (span.attributes["arq.job.outcome"], span.status.status_code) == ("failure", StatusCode.ERROR)
        assert any(f"{job.id}:{function} failed" in line for line in arq_lines), (name, arq_lines)
        assert not any(f"{job.id}:{function} ●" in line for line in arq_lines), name
    stored = await queue.get_job_result(big.id, queue_name)  # a big result is stored as it is
    assert (stored.success, len(stored.result)) == (True, 8 * 1024)
    assert counted(queue_name, "tests.worker.unstorable.returns_big", "succeeded") == 1
    await queue.aclose()


@pytest.mark.parametrize("name", ["returns_exiting", "returns_interrupting"])
def test_a_result_whose_pickling_raises_a_base_exception_fails_its_job_and_the_worker_runs_on(
    name: str, workers: WorkerRunner
) -> None:
    """arq's worker lets a ``SystemExit`` or ``KeyboardInterrupt`` raised while pickling a result
    out of the job's task: the worker process ended, the job stayed in progress."""
    process = workers.start()
    queue, q = get_queue(), workers.queue_name
    unstorable = queue.enqueue_sync(f"tests.worker.unstorable.{name}", _queue_name=q).id
    normal = queue.enqueue_sync("tests.jobs.add", 1, 2, _queue_name=q).id
    wait_for(lambda: finished([unstorable, normal]) or process.proc.poll() is not None, timeout=30)
    assert process.proc.poll() is None, process.output()
    stored = queue.get_job_result_sync(unstorable, q)
    assert stored.success is False and isinstance(stored.result, SerializedError)
    kind = "SystemExit" if name == "returns_exiting" else "KeyboardInterrupt"
    assert stored.result.message.endswith(f"cannot be serialized: builtins.{kind}: pickled")
    record = JobRecord.objects.get(job_id=unstorable)
    assert (record.success, record.result["exception"]) == (False, UNSERIALIZABLE)
    assert JobRecord.objects.get(job_id=normal).result == 3


async def test_a_result_larger_than_redis_stores_fails_its_job(
    serializer: str, queue_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Redis refuses it (resetting the connection): the job stayed in progress, to be run again."""
    monkeypatch.setattr(storable, "MAX_BYTES", 1024 * 1024)  # Redis's 512 MiB, at a moderate size
    queue = get_queue()
    big = await queue.enqueue("tests.worker.unstorable.returns_big", 2, _queue_name=queue_name)
    small = await queue.enqueue("tests.worker.unstorable.returns_big", 0, _queue_name=queue_name)
    await run_burst(queue_name)
    stored = await queue.get_job_result(big.id, queue_name)
    assert stored.success is False and isinstance(stored.result, SerializedError)
    assert "cannot be serialized: django_arq.queues.storable.TooLarge: " in stored.result.message
    assert stored.result.message.endswith("bytes serialized; Redis stores at most 1048576")
    record = await JobRecord.objects.aget(job_id=big.id)
    assert (record.success, record.result["exception"]) == (False, UNSERIALIZABLE)
    assert counted(queue_name, "tests.worker.unstorable.returns_big", "failed") == 1
    assert (await queue.get_job_result(small.id, queue_name)).result == []
    await queue.aclose()


async def test_a_result_arq_does_not_keep_is_not_checked_for_storing(
    queue_name: str,
    settings,  # type: ignore[no-untyped-def]
) -> None:
    """With KEEP_RESULT 0 (a cron job's default) arq serializes no result: the job succeeds."""
    settings.ARQ_METRICS = True
    default = settings.ARQ_QUEUES["default"]
    function = {"FUNCTION": "tests.worker.unstorable.returns_lock", "KEEP_RESULT": 0}
    worker = {"FUNCTIONS": [function], "POLL_DELAY": 0.02, "RECORD_FLUSH_INTERVAL": 0.02}
    settings.ARQ_QUEUES = {**settings.ARQ_QUEUES, "default": {**default, "WORKER": worker}}
    queue = get_queue()
    job = await queue.enqueue("tests.worker.unstorable.returns_lock", _queue_name=queue_name)
    await run_burst(queue_name)
    record = await JobRecord.objects.aget(job_id=job.id)
    assert (record.status, record.success) == ("complete", True)
    assert counted(queue_name, "tests.worker.unstorable.returns_lock", "succeeded") == 1
    await queue.aclose()
