"""A tracer provider or a propagator set after django-arq first traced (as a project may configure
OpenTelemetry after Django started) is the one later enqueues use: nothing stale is kept."""

from __future__ import annotations

import uuid

from django.conf import settings

from tests.tracing.conftest import run_script

# In a process of its own: OpenTelemetry lets a process set its tracer provider once.
SCRIPT = """
import json, pickle, sys
import django
django.setup()
from django.conf import settings
settings.ARQ_QUEUES["default"].update(AUDIT=False)
import redis
from opentelemetry import propagate, trace
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.propagators.textmap import TextMapPropagator
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from django_arq import get_queue

class Tenant(TextMapPropagator):
    def inject(self, carrier, context=None, setter=None):
        carrier["tenant"] = "acme"
    def extract(self, carrier, context=None, getter=None):
        return context
    @property
    def fields(self):
        return {"tenant"}

queue_name = sys.argv[1]
client = redis.Redis.from_url(settings.REDIS_URL)
payload = lambda job: pickle.loads(client.get("arq:job:" + job.id))
queue = get_queue()
before = queue.enqueue_sync("tests.jobs.add", 1, 2, _queue_name=queue_name)

exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(provider)
propagate.set_global_textmap(CompositePropagator([propagate.get_global_textmap(), Tenant()]))
after = queue.enqueue_sync("tests.jobs.add", 3, 4, _queue_name=queue_name)
print(json.dumps({
    "before": [before.trace_id, sorted(payload(before))],
    "after": [after.trace_id, sorted(payload(after)["trace"])],
    "spans": [(s.name, f"{s.context.trace_id:032x}") for s in exporter.get_finished_spans()],
}))
"""


def test_a_provider_and_a_propagator_set_later_are_used(redis_url: str) -> None:
    queue_name = f"{settings.TEST_QUEUE}:later-{uuid.uuid4().hex}"
    report = run_script(SCRIPT, queue_name, redis_url=redis_url)
    # Before: the API's no-op tracer, no context in the payload.
    assert report["before"] == [None, ["a", "et", "f", "k", "t"]]
    trace_id, carried = report["after"]
    assert carried == ["tenant", "traceparent"]
    assert report["spans"] == [["enqueue tests.jobs.add", trace_id]]
