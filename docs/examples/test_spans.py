"""A project's test of its traces: MockArqQueue makes the enqueue and run spans that a Redis queue
and its worker make, and the SDK's in-memory exporter keeps them for the test to read."""

from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from django_arq import MockArqQueue


async def send_receipt(ctx: dict[str, Any], order_id: int) -> str:
    return f"receipt of order {order_id}"


@pytest.fixture(scope="session")
def exporter() -> InMemorySpanExporter:
    """An SDK for the test session (OpenTelemetry lets a process set its provider once)."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    return exporter


@pytest.fixture
def spans(exporter: InMemorySpanExporter) -> Iterator[InMemorySpanExporter]:
    exporter.clear()
    yield exporter


async def test_the_receipt_job_runs_in_the_trace_of_the_checkout(spans: InMemorySpanExporter) -> None:
    queue = MockArqQueue(default_queue_name="shop")
    with trace.get_tracer("shop.tests").start_as_current_span("POST /checkout") as checkout:
        job = await queue.enqueue("docs.examples.test_spans.send_receipt", 42)
    await queue.run_queued()

    by_kind = {span.kind: span for span in spans.get_finished_spans()}
    enqueue, run = by_kind[SpanKind.PRODUCER], by_kind[SpanKind.CONSUMER]
    assert enqueue.parent.span_id == checkout.get_span_context().span_id
    assert run.parent.span_id == enqueue.context.span_id
    assert run.name == "run docs.examples.test_spans.send_receipt"
    assert run.attributes["arq.job.outcome"] == "success"
    assert job.trace_id == f"{checkout.get_span_context().trace_id:032x}"
