"""The spans contract, on both backends: MockArqQueue makes the enqueue and run spans that
RedisArqQueue and a real worker make, so a project's tests can assert on them."""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.conf import settings
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from django_arq import ArqQueue, JobSpec, MockArqQueue, RedisArqQueue
from tests.tracing.conftest import TracedWorkers, assert_ran, job_attributes
from tests.tracing.exporter import read_spans

pytestmark = pytest.mark.django_db(transaction=True)

#: Runs the queued jobs, then gives the run spans of these job ids, by id (as ``Span.to_json`` has them).
RunJobs = Callable[[set[str]], dict[str, dict[str, Any]]]


@pytest.fixture(params=["redis", "mock"])
def backend(
    request: pytest.FixtureRequest, spans: InMemorySpanExporter, traced_workers: TracedWorkers
) -> Iterator[tuple[ArqQueue, RunJobs]]:
    """A traced queue on a private queue name, and how its jobs run: a real worker process that
    writes its spans to a file, or the mock's ``run_queued`` in this process."""
    name = traced_workers.queue_name
    queue: ArqQueue
    if request.param == "redis":
        queue = RedisArqQueue(settings.REDIS_URL, default_queue_name=name)

        def run_jobs(ids: set[str]) -> dict[str, dict[str, Any]]:
            traced_workers.burst()
            return traced_workers.spans_of(ids)

    else:
        mock = queue = MockArqQueue(default_queue_name=name)

        def run_jobs(ids: set[str]) -> dict[str, dict[str, Any]]:
            from asgiref.sync import async_to_sync

            async_to_sync(mock.run_queued)()
            ran = [
                json.loads(s.to_json())
                for s in spans.get_finished_spans()
                if s.kind is trace.SpanKind.CONSUMER
            ]
            return {s["attributes"]["arq.job.id"]: s for s in ran if s["attributes"]["arq.job.id"] in ids}

    yield queue, run_jobs
    queue.close()


def test_both_backends_make_the_same_spans_in_one_trace(
    backend: tuple[ArqQueue, RunJobs], tracer: trace.Tracer, spans: InMemorySpanExporter
) -> None:
    queue, run_jobs = backend
    q = queue.default_queue_name
    with tracer.start_as_current_span("POST /orders") as request_span:
        ok, bad = queue.enqueue_many_sync(
            [JobSpec("tests.jobs.add", (2, 3)), JobSpec("tests.jobs.fail", ("boom",))]
        )
    request = request_span.get_span_context()
    trace_id = f"{request.trace_id:032x}"
    assert ok.trace_id == bad.trace_id == trace_id
    assert queue.get_job_metadata_sync(ok.id).trace_id is None  # the enqueue's answer only

    produced = {
        s.attributes["arq.job.id"]: s for s in spans.get_finished_spans() if s.kind is trace.SpanKind.PRODUCER
    }
    assert set(produced) == {ok.id, bad.id}
    assert produced[ok.id].name == "enqueue tests.jobs.add"
    assert produced[ok.id].parent.span_id == request.span_id
    assert dict(produced[ok.id].attributes) == job_attributes(
        q, ok.id, "tests.jobs.add", **{"arq.job.outcome": "enqueued"}
    )

    ran = run_jobs({ok.id, bad.id})
    for job in (ok, bad):
        span = ran[job.id]
        assert span["context"]["trace_id"] == f"0x{trace_id}"
        assert span["parent_id"] == f"0x{produced[job.id].context.span_id:016x}"
        assert span["kind"] == "SpanKind.CONSUMER"
    assert_ran(ran[ok.id], ran[bad.id], q)


def test_an_enqueue_refused_by_either_backend_ends_its_span_with_the_error(
    backend: tuple[ArqQueue, RunJobs], tracer: trace.Tracer, spans: InMemorySpanExporter
) -> None:
    queue, _ = backend
    with pytest.raises(Exception) as refused:
        queue.enqueue_sync("tests.jobs.add", lambda: None)  # no serializer takes a lambda
    (span,) = [s for s in spans.get_finished_spans() if s.kind is trace.SpanKind.PRODUCER]
    assert span.attributes["arq.job.outcome"] == "refused"
    assert (
        span.attributes["error.type"]
        == f"{type(refused.value).__module__}.{type(refused.value).__qualname__}"
    )
    assert (span.status.status_code, span.status.description) == (trace.StatusCode.ERROR, str(refused.value))
    (event,) = span.events
    assert (event.name, event.attributes["exception.message"]) == ("exception", str(refused.value))


def test_a_mock_without_tracing_makes_no_spans(tracer: trace.Tracer, spans: InMemorySpanExporter) -> None:
    from asgiref.sync import async_to_sync

    mock = MockArqQueue(default_queue_name="untraced", tracing=False)
    with tracer.start_as_current_span("GET /quiet"):
        meta = mock.enqueue_sync("tests.jobs.add", 1, 1)
    (result,) = async_to_sync(mock.run_queued)()
    assert (result.success, meta.trace_id) == (True, None)
    assert [s.name for s in spans.get_finished_spans()] == ["GET /quiet"]


def test_a_trace_not_sampled_stays_unsampled_in_the_worker(
    tracer: trace.Tracer, spans: InMemorySpanExporter, traced_workers: TracedWorkers, redis_client: Any
) -> None:
    """The enqueue of an unsampled request records nothing, yet its context travels in the payload,
    so that the worker's parent-based sampler records nothing of the job's run either."""
    from asgiref.sync import async_to_sync

    unsampled = trace.SpanContext(0x5EED, 0xBEEF, is_remote=True, trace_flags=trace.TraceFlags(0))
    redis = RedisArqQueue(settings.REDIS_URL, default_queue_name=traced_workers.queue_name)
    mock = MockArqQueue(default_queue_name=traced_workers.queue_name)
    with trace.use_span(trace.NonRecordingSpan(unsampled)):
        sent = redis.enqueue_sync("tests.jobs.add", 1, 2)
        kept = mock.enqueue_sync("tests.jobs.add", 3, 4)
    assert sent.trace_id == kept.trace_id == f"{0x5EED:032x}"
    traceparent = pickle.loads(redis_client.get(f"arq:job:{sent.id}"))["trace"]["traceparent"]
    # no span of its own: the job carries the request's context, "not sampled"
    assert traceparent == f"00-{0x5EED:032x}-{0xBEEF:016x}-00"

    traced_workers.burst()
    (result,) = async_to_sync(mock.run_queued)()
    assert result.success and redis.get_job_result_sync(sent.id).success
    redis.close()
    # The worker has ended (burst) and its exporter writes each span as it ends: none was recorded.
    assert [
        s for s in read_spans(traced_workers.spans_file) if s["attributes"].get("arq.job.id") == sent.id
    ] == []
    assert spans.get_finished_spans() == ()
