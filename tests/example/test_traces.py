"""The example project with ``EXAMPLE_TRACES=console``: the enqueuing process and the worker print
their spans, and the job's run is a child of its enqueue, in one trace."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from tests.helpers import redis_server

from .conftest import EXAMPLE, ExampleDatabase

ENQUEUE = """
from opentelemetry import trace
from django_arq import get_queue
with trace.get_tracer("shop.views").start_as_current_span("POST /orders/"):
    job = get_queue().enqueue_sync("shop.jobs.send_cart_reminder", 1)
print("id:", job.id)
"""


def spans(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith('{"name":')]


def test_the_example_prints_one_trace_from_enqueue_to_worker(
    example_env: dict[str, str], example_db: ExampleDatabase
) -> None:
    manage = [sys.executable, str(EXAMPLE / "manage.py")]
    example_db.create()
    with redis_server() as redis:
        env = {**example_env, "REDIS_URL": redis.url, "EXAMPLE_TRACES": "console"}

        def run(*args: str) -> str:
            done = subprocess.run([*manage, *args], env=env, capture_output=True, text=True, timeout=120)
            assert done.returncode == 0, done.stdout + done.stderr
            return done.stdout

        run("migrate", "-v0")
        enqueued = run("shell", "-c", ENQUEUE)
        job_id = enqueued.split("id:")[-1].strip()
        ran = run("arq_worker", "--burst")
    request, enqueue = _by_name(spans(enqueued))
    worker = next(s for s in spans(ran) if s["attributes"].get("arq.job.id") == job_id)
    assert enqueue["attributes"]["arq.job.id"] == job_id
    assert enqueue["parent_id"] == request["context"]["span_id"]
    assert worker["name"] == "run shop.jobs.send_cart_reminder"
    assert worker["context"]["trace_id"] == request["context"]["trace_id"]
    assert worker["parent_id"] == enqueue["context"]["span_id"]
    assert worker["resource"]["attributes"]["service.name"] == "shop"
    trace_id = request["context"]["trace_id"][2:]
    assert example_db.query("SELECT trace_id FROM django_arq_jobrecord WHERE job_id = %s", (job_id,)) == [
        (trace_id,)
    ]


def _by_name(found: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    named = {s["name"]: s for s in found}
    return named["POST /orders/"], named["enqueue shop.jobs.send_cart_reminder"]
