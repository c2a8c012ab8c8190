"""An enqueue inside a span, read back from Redis without a worker: each job's payload carries the
context of its own span, and each span names the job's queue; an enqueue that raises ends every
span with its error."""

from __future__ import annotations

import pickle
import uuid

import pytest
import redis
from django.conf import settings
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from django_arq import JobSpec, RedisArqQueue
from django_arq.tracing import PAYLOAD_KEY, enqueue_tracer


@pytest.mark.parametrize("how", ["one", "many"])
def test_each_payload_carries_the_context_of_its_job_s_span(
    how: str, tracer: trace.Tracer, spans: InMemorySpanExporter, redis_url: str, redis_client: redis.Redis
) -> None:
    default = f"{settings.TEST_QUEUE}:traced-{uuid.uuid4().hex}"
    other = f"{default}:other"
    queue = RedisArqQueue(redis_url, default_queue_name=default)
    jobs = []
    try:
        with tracer.start_as_current_span("request"):
            if how == "one":
                jobs = [queue.enqueue_sync("tests.jobs.add", 1, 2, _queue_name=other)]
            else:
                specs = [
                    JobSpec("tests.jobs.add", (1, 2)),
                    JobSpec("tests.jobs.add", (3, 4), queue_name=other),
                ]
                jobs = queue.enqueue_many_sync(specs)
        finished = spans.get_finished_spans()
        produced = {s.attributes["arq.job.id"]: s for s in finished if s.kind is SpanKind.PRODUCER}
        assert set(produced) == {job.id for job in jobs}
        for job in jobs:
            context = produced[job.id].context
            assert produced[job.id].attributes["messaging.destination.name"] == job.queue_name
            assert job.trace_id == f"{context.trace_id:032x}"
            payload = pickle.loads(redis_client.get(f"arq:job:{job.id}"))
            traceparent = f"00-{job.trace_id}-{context.span_id:016x}-{context.trace_flags:02x}"
            assert payload[PAYLOAD_KEY] == {"traceparent": traceparent}
            assert (payload["f"], payload["a"], payload["k"]) == ("tests.jobs.add", job.args, {})
        assert [job.queue_name for job in jobs] == ([other] if how == "one" else [default, other])
    finally:
        queue.close()
        redis_client.delete(default, other, *(f"arq:job:{job.id}" for job in jobs))


class Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no text")


def test_an_error_without_text_ends_every_span_of_the_enqueue(spans: InMemorySpanExporter) -> None:
    tracing = enqueue_tracer(True)
    assert tracing is not None
    with pytest.raises(Unprintable), tracing.spans([("f", "q", "1"), ("f", "q", "2")]):
        raise Unprintable()
    ended = spans.get_finished_spans()
    assert [s.attributes["arq.job.id"] for s in ended] == ["1", "2"]
    for span in ended:
        assert (span.attributes["arq.job.outcome"], span.attributes["error.type"]) == (
            "refused",
            f"{__name__}.Unprintable",
        )
        assert (span.status.status_code, span.status.description) == (trace.StatusCode.ERROR, None)
