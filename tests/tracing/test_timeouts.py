"""A real worker's run span of a job its timeout stopped is a failure, with the TimeoutError its
record and its arq result hold, counted failed by the metrics; a run stopped by the worker's
shutdown stays "cancelled" (the job runs again)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from django.conf import settings
from django.test.utils import override_settings
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from prometheus_client import REGISTRY

from django_arq import get_queue
from django_arq.audit.writer import flush_records
from django_arq.models import JobRecord
from django_arq.queues.jobs import JobResult
from django_arq.queues.timeouts import timed_out
from django_arq.worker import create_worker

pytestmark = pytest.mark.django_db(transaction=True)

SLEEPS = "tests.jobs.sleep_for"


def sleeping(entry: str | dict[str, Any] = SLEEPS) -> override_settings:
    """The default alias, its worker running only ``SLEEPS`` (its FUNCTIONS ``entry``), its jobs
    counted by metrics."""
    queues: dict[str, Any] = settings.ARQ_QUEUES
    worker = {"FUNCTIONS": [entry], "POLL_DELAY": 0.02}
    return override_settings(
        ARQ_QUEUES={**queues, "default": {**queues["default"], "WORKER": worker}}, ARQ_METRICS=True
    )


def counted(outcome: str, queue: str) -> float:
    labels = {"alias": "default", "queue": queue, "function": SLEEPS}
    return REGISTRY.get_sample_value(f"django_arq_jobs_{outcome}_total", labels) or 0


def run_span(spans: InMemorySpanExporter) -> Any:
    (run,) = [s for s in spans.get_finished_spans() if s.name == f"run {SLEEPS}"]
    return run


@contextlib.asynccontextmanager
async def job_running(queue_name: str, **kwargs: Any) -> AsyncIterator[tuple[Any, asyncio.Task[None]]]:
    """A worker (no signal handlers) and the task running it, given as soon as the task of the job
    it started first exists (its first step not taken yet, or just taken); closed after."""
    worker = create_worker(queue_name=queue_name, handle_signals=False, **kwargs)
    running = asyncio.create_task(worker.async_run())
    try:
        async with asyncio.timeout(30):
            while not worker.job_tasks:
                await asyncio.sleep(0)
            yield worker, running
    finally:
        await worker.close()
        running.cancel()


def assert_timed_out(run: Any, result: Any, timeout: float) -> None:
    text = f"job timed out after {timeout}s"
    assert (run.attributes["arq.job.outcome"], run.attributes["error.type"]) == ("failure", "TimeoutError")
    assert (run.status.status_code, run.status.description) == (StatusCode.ERROR, text)
    (event,) = run.events
    assert (event.attributes["exception.type"], event.attributes["exception.message"]) == (
        "TimeoutError",
        text,
    )
    assert (result.success, type(result.result)) == (False, TimeoutError)


@pytest.mark.parametrize(
    ("entry", "job_timeout"),
    [(SLEEPS, 0.5), ({"FUNCTION": SLEEPS, "TIMEOUT": 0.5}, 300)],
    ids=["worker-job-timeout", "function-timeout"],
)
def test_a_run_its_timeout_stops_is_a_failure_with_a_timeout_error(
    entry: str | dict[str, Any], job_timeout: float, queue_name: str, spans: InMemorySpanExporter
) -> None:
    with sleeping(entry):
        failed = counted("failed", queue_name)
        job = get_queue().enqueue_sync(SLEEPS, 30, _queue_name=queue_name)
        create_worker(queue_name=queue_name, burst=True, handle_signals=False, job_timeout=job_timeout).run()
        assert counted("failed", queue_name) == failed + 1
    assert_timed_out(run_span(spans), get_queue().get_job_result_sync(job.id, queue_name), 0.5)
    flush_records()
    assert JobRecord.objects.get(job_id=job.id).error == repr(TimeoutError("job timed out after 0.5s"))


async def test_a_run_the_worker_s_shutdown_stops_stays_cancelled(
    queue_name: str, spans: InMemorySpanExporter
) -> None:
    with sleeping():
        retried = counted("retried", queue_name)
        await get_queue().enqueue(SLEEPS, 30, _queue_name=queue_name)
        async with job_running(queue_name, job_timeout=300):
            await asyncio.sleep(0.5)  # into the run, as a shutdown comes (how far does not matter)
        assert counted("retried", queue_name) == retried + 1
    run = run_span(spans)
    assert (run.attributes["arq.job.outcome"], run.status.status_code) == ("cancelled", StatusCode.UNSET)


def test_a_cancelled_run_is_timed_out_if_it_has_a_timeout_and_the_worker_is_not_stopping() -> None:
    assert str(timed_out(0.5, stopping=False)) == "job timed out after 0.5s"
    assert timed_out(0.5, stopping=True) is None
    assert timed_out(None, stopping=False) is None


async def test_a_run_its_timeout_stops_is_a_failure_though_the_loop_lagged_as_it_began(
    queue_name: str, spans: InMemorySpanExporter
) -> None:
    """arq arms the timeout's timer before the job's task takes its first step: a loop blocked in
    between (here by the test, right as the job starts) leaves the run shorter than its timeout."""
    with sleeping():
        job = await get_queue().enqueue(SLEEPS, 30, _queue_name=queue_name)
        async with job_running(queue_name, job_timeout=2):
            time.sleep(0.6)  # the loop blocked as the job's task begins
            while not isinstance(result := await get_queue().get_job(job.id, queue_name), JobResult):
                await asyncio.sleep(0.05)
    assert_timed_out(run_span(spans), result, 2)


@pytest.mark.parametrize(
    ("job_timeout", "completion_wait", "outcome"),
    [(1, 60, "failure"), (300, 0.5, "cancelled")],
    ids=["timed-out-during-the-wait", "cancelled-after-the-wait"],
)
async def test_a_signal_s_wait_for_running_jobs_tells_their_timeouts_from_the_stop(
    job_timeout: float, completion_wait: float, outcome: str, queue_name: str, spans: InMemorySpanExporter
) -> None:
    """After ``handle_sig_wait_for_completion``, a run its timeout stops during the wait is timed
    out; one still running when the wait ends is cancelled by the stop."""
    with sleeping():
        await get_queue().enqueue(SLEEPS, 30, _queue_name=queue_name)
        async with job_running(queue_name, job_timeout=job_timeout, job_completion_wait=completion_wait) as (
            worker,
            running,
        ):
            worker.handle_sig_wait_for_completion(signal.SIGTERM)
            with contextlib.suppress(asyncio.CancelledError):
                await running  # the wait ends, then arq cancels what runs and the main task
    assert run_span(spans).attributes["arq.job.outcome"] == outcome


def test_a_cron_job_s_record_names_its_own_timeout_as_its_run_span_does() -> None:
    queues: dict[str, Any] = settings.ARQ_QUEUES
    worker_settings = {"FUNCTIONS": [SLEEPS], "CRON_JOBS": [{"FUNCTION": SLEEPS, "TIMEOUT": 3, "MINUTE": 0}]}
    with override_settings(
        ARQ_QUEUES={**queues, "default": {**queues["default"], "WORKER": worker_settings}}
    ):
        worker = create_worker(handle_signals=False, job_timeout=300)
    (cron_name,) = [name for name in worker.functions if name != SLEEPS]
    assert worker.recorder is not None
    assert worker.recorder.timeouts == {SLEEPS: 300, cron_name: 3}
    assert str(worker._timed_out(worker.functions[cron_name])) == "job timed out after 3s"
