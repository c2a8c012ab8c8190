"""An OpenTelemetry SDK in the test process (its spans kept in memory while a test asks for them),
and real workers that export theirs to a file."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.helpers import ROOT, wait_for
from tests.tracing.exporter import read_spans
from tests.worker.conftest import WorkerRunner, queue_name  # noqa: F401 - a fixture


class Gate(SpanProcessor):
    """Passes ended spans on only while a test listens: other tests' spans are not kept."""

    def __init__(self, processor: SpanProcessor) -> None:
        self.processor = processor
        self.open = False

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        pass

    def on_end(self, span: ReadableSpan) -> None:
        if self.open:
            self.processor.on_end(span)


EXPORTER = InMemorySpanExporter()
GATE = Gate(SimpleSpanProcessor(EXPORTER))


@pytest.fixture(scope="session")
def tracer() -> trace.Tracer:
    """A tracer of the process's SDK provider (installed once: OpenTelemetry allows one)."""
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        provider.add_span_processor(GATE)
        trace.set_tracer_provider(provider)
    return trace.get_tracer("tests")


@pytest.fixture
def spans(tracer: trace.Tracer) -> Iterator[InMemorySpanExporter]:
    """The spans ended in this process during the test."""
    EXPORTER.clear()
    GATE.open = True
    yield EXPORTER
    GATE.open = False
    EXPORTER.clear()


class TracedWorkers(WorkerRunner):
    """``manage.py arq_worker`` processes whose spans go to ``spans_file``."""

    def __init__(self, queue: str, spans_file: Path) -> None:
        super().__init__(queue)
        self.spans_file = spans_file

    def env(self) -> dict[str, str]:
        return {
            **super().env(),
            "DJANGO_SETTINGS_MODULE": "tests.tracing.worker_settings",
            "DJANGO_ARQ_TEST_SPANS": str(self.spans_file),
        }

    def spans_of(self, job_ids: set[str], timeout: float = 20) -> dict[str, dict[str, Any]]:
        """The worker's span of each job, by job id, once it has them all."""

        def found() -> dict[str, dict[str, Any]]:
            by_job = {s["attributes"].get("arq.job.id"): s for s in read_spans(self.spans_file)}
            return by_job if job_ids <= set(by_job) else {}

        return wait_for(found, timeout=timeout)


@pytest.fixture
def traced_workers(queue_name: str, tmp_path: Path) -> Iterator[TracedWorkers]:  # noqa: F811
    runner = TracedWorkers(queue_name, tmp_path / "spans.jsonl")
    yield runner
    for process in runner.processes:
        process.kill()


def job_attributes(queue: str, job_id: str, function: str, **more: Any) -> dict[str, Any]:
    """The attributes of a job's span: those every span has, and ``more``."""
    return {
        "messaging.system": "arq",
        "messaging.destination.name": queue,
        "arq.job.id": job_id,
        "arq.job.function": function,
        **more,
    }


def assert_ran(ok: dict[str, Any], failed: dict[str, Any], queue: str) -> None:
    """The run spans (as ``Span.to_json`` has them) of a ``tests.jobs.add`` job that succeeded
    at its first try and of a ``tests.jobs.fail`` job given ``"boom"``."""
    assert ok["name"] == "run tests.jobs.add"
    job_id = ok["attributes"]["arq.job.id"]
    assert ok["attributes"] == job_attributes(
        queue, job_id, "tests.jobs.add", **{"arq.job.try": 1, "arq.job.outcome": "success"}
    )
    assert failed["name"] == "run tests.jobs.fail"
    assert (failed["attributes"]["arq.job.outcome"], failed["attributes"]["error.type"]) == (
        "failure",
        "ValueError",
    )
    assert (failed["status"]["status_code"], failed["status"]["description"]) == ("ERROR", "boom")
    (event,) = failed["events"]
    assert event["name"] == "exception"
    assert (event["attributes"]["exception.type"], event["attributes"]["exception.message"]) == (
        "ValueError",
        "boom",
    )


def run_script(script: str, *args: str, redis_url: str) -> dict[str, Any]:
    """What ``script`` (run with the tests' settings in a process of its own) prints as JSON on its
    last line."""
    env = {
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DJANGO_ARQ_TEST_REDIS": redis_url,
    }
    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return result
