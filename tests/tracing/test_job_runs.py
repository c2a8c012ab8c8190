"""A traced job function is called as arq calls it, and leaves the context it ran in behind it: the
task that awaited it (arq's own, on Python 3.12 and later) is back in its own context after it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from django_arq.tracing import JobTracer, job_tracer


def jobs() -> JobTracer:
    tracer = job_tracer(True, "q", lambda job_id: False)
    assert tracer is not None
    return tracer


def test_a_traced_job_gets_its_arguments_and_gives_its_result(spans: InMemorySpanExporter) -> None:
    async def fn(ctx: dict[str, Any], a: int, *, b: int) -> tuple[str, int, int]:
        return ctx["job_id"], a, b

    job = jobs().traced("tests.jobs.fn", fn, carrier=lambda: None)
    assert asyncio.run(job({"job_id": "j1", "job_try": 1}, 1, b=2)) == ("j1", 1, 2)
    (span,) = spans.get_finished_spans()
    assert span.attributes["arq.job.outcome"] == "success"


@pytest.mark.parametrize("fails", [False, True], ids=["returns", "raises"])
def test_the_context_before_a_job_is_current_again_after_it(
    fails: bool, tracer: trace.Tracer, spans: InMemorySpanExporter, caplog: pytest.LogCaptureFixture
) -> None:
    async def fn(ctx: dict[str, Any]) -> str:
        if fails:
            raise ValueError("boom")
        return "done"

    job = jobs().traced("tests.jobs.fn", fn, carrier=lambda: None)

    async def run() -> tuple[trace.Span, trace.Span]:
        with tracer.start_as_current_span("worker") as outer:
            with contextlib.suppress(ValueError):
                await job({"job_id": "j1", "job_try": 1})
            return outer, trace.get_current_span()

    with caplog.at_level(logging.ERROR, logger="opentelemetry.context"):
        outer, after = asyncio.run(run())
    assert after is outer
    assert caplog.records == []  # OpenTelemetry logs a failed detach
    run_span = next(s for s in spans.get_finished_spans() if s.name == "run tests.jobs.fn")
    assert run_span.attributes["arq.job.outcome"] == ("failure" if fails else "success")
