"""Without OpenTelemetry installed, or with ``TRACING: False``, nothing of it is imported: jobs are
enqueued and run as before, with no trace context in their payloads."""

from __future__ import annotations

import uuid

import pytest
from django.conf import settings

from django_arq.tracing import enqueue, jobs
from tests.tracing.conftest import run_script

SCRIPT = """
import importlib.abc, json, os, pickle, sys

class Blocked(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "opentelemetry":
            raise ImportError(f"No module named {name!r} (blocked by the test)")
        return None

if sys.argv[1] == "not-installed":
    sys.meta_path.insert(0, Blocked())
import django
django.setup()
from django.conf import settings
settings.ARQ_QUEUES["default"].update(AUDIT=False, TRACING=sys.argv[1] != "off")
import redis
from django_arq import get_queue
from django_arq.worker import create_worker

queue_name = sys.argv[2]
queue = get_queue()
job = queue.enqueue_sync("tests.jobs.add", 1, 2, _queue_name=queue_name)
payload = pickle.loads(redis.Redis.from_url(settings.REDIS_URL).get("arq:job:" + job.id))
worker = create_worker(queue_name=queue_name, burst=True, poll_delay=0.01)
worker.run()
result = queue.get_job_result_sync(job.id, queue_name)
print(json.dumps({
    "payload_keys": sorted(payload),
    "trace_id": job.trace_id,
    "worker_tracer": repr(worker.tracer),
    "result": result.result,
    "modules": sorted(m for m in sys.modules if m.split(".")[0] == "opentelemetry"),
}))
"""


@pytest.mark.parametrize("mode", ["not-installed", "off"])
def test_nothing_of_opentelemetry_is_imported(mode: str, redis_url: str) -> None:
    queue_name = f"{settings.TEST_QUEUE}:untraced-{uuid.uuid4().hex}"
    report = run_script(SCRIPT, mode, queue_name, redis_url=redis_url)
    assert report == {
        "payload_keys": ["a", "et", "f", "k", "t"],
        "trace_id": None,
        "worker_tracer": "None",
        "result": 3,
        "modules": [],
    }


def test_no_tracer_is_made_when_opentelemetry_cannot_be_imported(monkeypatch: pytest.MonkeyPatch) -> None:
    """In this process, with the import of OpenTelemetry failing (``otel()`` finding nothing):
    neither an alias's enqueues nor a worker's jobs get a tracer, and nothing raises."""
    assert enqueue.enqueue_tracer(True) is not None  # installed here
    for module in (enqueue, jobs):
        monkeypatch.setattr(module, "otel", lambda: None)
    assert enqueue.enqueue_tracer(True) is None
    assert jobs.job_tracer(True, "q", lambda job_id: False) is None
