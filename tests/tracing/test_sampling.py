"""Traces that are not sampled: no span is made for them, on either side, yet the trace's
context (and its decision not to sample) travels with the job and is current while it runs."""

from __future__ import annotations

import asyncio
import pickle
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.conf import settings
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from django_arq import JobSpec, RedisArqQueue
from django_arq.tracing.jobs import job_tracer


class _RecordingUnsampled(trace.NonRecordingSpan):
    """A span that records without being sampled (a sampler's RECORD_ONLY decision)."""

    def is_recording(self) -> bool:
        return True


@pytest.mark.parametrize("parent", [trace.NonRecordingSpan, _RecordingUnsampled])
def test_only_a_trace_neither_sampled_nor_recorded_goes_without_enqueue_spans(
    tracer: trace.Tracer, redis_client: Any, queue_name: str, parent: type[trace.NonRecordingSpan]
) -> None:
    """Each job of a bulk enqueue carries the unsampled request's own context; a parent that
    records (though not sampled) gets an enqueue span per job as usual, each of its own id."""
    unsampled = trace.SpanContext(0xFACE, 0xCAFE, is_remote=False, trace_flags=trace.TraceFlags(0))
    redis = RedisArqQueue(settings.REDIS_URL, default_queue_name=queue_name)
    with trace.use_span(parent(unsampled)):
        sent = redis.enqueue_many_sync([JobSpec("tests.jobs.add", (i, 1)) for i in range(3)])
    redis.close()
    parents = {pickle.loads(redis_client.get(f"arq:job:{m.id}"))["trace"]["traceparent"] for m in sent}
    assert {m.trace_id for m in sent} == {f"{0xFACE:032x}"}
    if parent is trace.NonRecordingSpan:
        assert parents == {f"00-{0xFACE:032x}-{0xCAFE:016x}-00"}
    else:
        assert len(parents) == 3 and all(p.startswith(f"00-{0xFACE:032x}-") for p in parents)
        assert f"-{0xCAFE:016x}-" not in "".join(parents)


@pytest.mark.parametrize("sampled", [False, True])
def test_a_job_runs_in_the_context_it_carries_with_a_span_only_if_sampled(
    tracer: trace.Tracer, spans: InMemorySpanExporter, sampled: bool
) -> None:
    flags = "01" if sampled else "00"
    carrier = {"traceparent": f"00-{0xABC:032x}-{0xDEF:016x}-{flags}"}
    jobs = job_tracer(True, "sampling", lambda job_id: False)
    assert jobs is not None
    seen: dict[str, Any] = {}

    async def job(ctx: dict[str, Any]) -> None:
        seen["current"] = trace.get_current_span().get_span_context()
        with tracer.start_as_current_span("inside the job") as inner:
            seen["inner"] = inner

    ctx: dict[str, Any] = {"job_id": "j1", "job_try": 1}
    async_to_sync(jobs.traced("tests.jobs.add", job, carrier=lambda: carrier))(ctx)

    assert ctx["trace_id"] == f"{0xABC:032x}" == f"{seen['current'].trace_id:032x}"
    finished = {s.name: s for s in spans.get_finished_spans()}
    if sampled:
        run = finished["run tests.jobs.add"]
        assert run.parent is not None and run.parent.span_id == 0xDEF
        assert seen["current"].span_id == run.context.span_id
        assert finished["inside the job"].parent.span_id == run.context.span_id
    else:  # no span: the carried one is current, and what the job starts is not recorded either
        assert seen["current"].span_id == 0xDEF and not seen["inner"].is_recording()
        assert finished == {}


def test_a_job_without_a_context_started_in_an_unsampled_span_gets_an_unsampled_span_of_its_own(
    tracer: trace.Tracer, spans: InMemorySpanExporter
) -> None:
    """As when a project's test runs a mock's jobs (enqueued untraced) inside an unsampled span:
    the sampler follows that span, the job runs in a span of its own that records nothing."""
    unsampled = trace.SpanContext(0xABC, 0xDEF, is_remote=False, trace_flags=trace.TraceFlags(0))
    jobs = job_tracer(True, "sampling", lambda job_id: False)
    assert jobs is not None

    async def job(ctx: dict[str, Any]) -> tuple[trace.SpanContext, trace.SpanContext]:
        with tracer.start_as_current_span("inside the job") as inner:
            return trace.get_current_span().get_span_context(), inner.get_span_context()

    ctx: dict[str, Any] = {"job_id": "j1", "job_try": 1}
    with trace.use_span(trace.NonRecordingSpan(unsampled)):
        current, inner = asyncio.run(jobs.traced("tests.jobs.add", job, carrier=lambda: None)(ctx))
    assert ctx["trace_id"] == f"{0xABC:032x}"
    assert (current.trace_id, inner.trace_id) == (0xABC, 0xABC)
    assert not inner.trace_flags.sampled
    assert spans.get_finished_spans() == ()
