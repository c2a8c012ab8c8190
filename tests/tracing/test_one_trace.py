"""A web process's enqueue and a real worker's run of the job are one trace, through real Redis."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from django_arq import JobSpec, RedisArqQueue, get_queue
from django_arq.audit.writer import flush_records
from django_arq.models import JobRecord
from tests.tracing.conftest import TracedWorkers, assert_ran, job_attributes

pytestmark = pytest.mark.django_db(transaction=True)


def hex_id(value: int) -> str:
    return f"{value:032x}"


def enqueue_spans(exporter: InMemorySpanExporter) -> dict[str, Any]:
    return {
        s.attributes["arq.job.id"]: s for s in exporter.get_finished_spans() if s.kind is SpanKind.PRODUCER
    }


def assert_child(worker_span: dict[str, Any], enqueue_span: Any) -> None:
    """The worker's span is in the enqueue's trace, a child of the enqueue's span."""
    context = enqueue_span.get_span_context()
    assert worker_span["context"]["trace_id"] == "0x" + hex_id(context.trace_id)
    assert worker_span["parent_id"] == f"0x{context.span_id:016x}"
    assert worker_span["kind"] == "SpanKind.CONSUMER"


def test_sync_enqueue_and_worker_run_are_one_trace(
    tracer: trace.Tracer, spans: InMemorySpanExporter, traced_workers: TracedWorkers
) -> None:
    q = traced_workers.queue_name
    with tracer.start_as_current_span("GET /checkout") as request_span:
        ok = get_queue().enqueue_sync("tests.jobs.add", 2, 3, _queue_name=q)
        bad = get_queue().enqueue_sync("tests.jobs.fail", "boom", _queue_name=q)
    trace_id = hex_id(request_span.get_span_context().trace_id)
    assert ok.trace_id == bad.trace_id == trace_id

    produced = enqueue_spans(spans)
    assert produced[ok.id].parent.span_id == request_span.get_span_context().span_id
    assert produced[ok.id].name == "enqueue tests.jobs.add"
    assert dict(produced[ok.id].attributes) == job_attributes(
        q, ok.id, "tests.jobs.add", **{"arq.job.outcome": "enqueued"}
    )

    traced_workers.burst()
    ran = traced_workers.spans_of({ok.id, bad.id})
    assert_child(ran[ok.id], produced[ok.id])
    assert_child(ran[bad.id], produced[bad.id])
    assert_ran(ran[ok.id], ran[bad.id], q)

    flush_records()
    assert set(JobRecord.objects.filter(job_id__in=[ok.id, bad.id]).values_list("trace_id", flat=True)) == {
        trace_id
    }


async def test_async_bulk_enqueue_gives_each_job_its_span_in_the_trace(
    tracer: trace.Tracer, spans: InMemorySpanExporter, traced_workers: TracedWorkers
) -> None:
    q = traced_workers.queue_name
    with tracer.start_as_current_span("POST /import") as request_span:
        jobs = await get_queue().enqueue_many(
            [JobSpec("tests.jobs.add", (i, i), queue_name=q) for i in range(3)]
        )
    ids = {job.id for job in jobs}
    produced = enqueue_spans(spans)
    assert set(produced) == ids
    assert {s.parent.span_id for s in produced.values()} == {request_span.get_span_context().span_id}
    assert len({s.context.span_id for s in produced.values()}) == 3

    await sync_burst(traced_workers)
    ran = traced_workers.spans_of(ids)
    for job_id in ids:
        assert_child(ran[job_id], produced[job_id])


async def sync_burst(workers: TracedWorkers) -> None:
    from asgiref.sync import sync_to_async

    await sync_to_async(workers.burst)()


def test_a_job_enqueued_without_tracing_runs_in_a_trace_of_its_own_kept_by_its_record(
    tracer: trace.Tracer, traced_workers: TracedWorkers
) -> None:
    queue = RedisArqQueue(settings.REDIS_URL, default_queue_name=traced_workers.queue_name, tracing=False)
    with tracer.start_as_current_span("GET /untraced"):
        untraced = queue.enqueue_sync("tests.jobs.add", 1, 1)
    queue.close()
    assert untraced.trace_id is None
    traced_workers.burst()
    span = traced_workers.spans_of({untraced.id})[untraced.id]
    assert span["parent_id"] is None
    assert span["attributes"]["arq.job.outcome"] == "success"
    # No enqueue wrote its record: the worker created it, with its own span's trace.
    assert JobRecord.objects.get(job_id=untraced.id).trace_id == span["context"]["trace_id"][2:]
