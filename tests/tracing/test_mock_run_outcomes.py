"""The run span of a job that MockArqQueue.run_queued stops: an abort's outcome is "aborted", the
runner's own cancellation's is "cancelled" (and the runner ends cancelled, as a worker's task)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from django_arq import MockArqQueue


async def test_an_aborted_run_and_a_cancelled_runner_end_their_spans_each_with_its_outcome(
    spans: InMemorySpanExporter,
) -> None:
    queue = MockArqQueue(default_queue_name="mock-outcomes")
    started = asyncio.Event()

    async def waits(ctx: dict[str, Any]) -> None:
        started.set()
        await asyncio.Event().wait()

    aborted = await queue.enqueue("waits")
    runner = asyncio.ensure_future(queue.run_queued({"waits": waits}))
    await asyncio.wait_for(started.wait(), timeout=30)
    assert await queue.abort_job(aborted.id) is True
    (result,) = await asyncio.wait_for(runner, timeout=30)
    assert (result.id, result.success, type(result.result)) == (aborted.id, False, asyncio.CancelledError)

    started.clear()
    cancelled = await queue.enqueue("waits")
    runner = asyncio.ensure_future(queue.run_queued({"waits": waits}))
    await asyncio.wait_for(started.wait(), timeout=30)
    runner.cancel()
    with pytest.raises(asyncio.CancelledError):
        await runner
    outcomes = {
        s.attributes["arq.job.id"]: s.attributes["arq.job.outcome"]
        for s in spans.get_finished_spans()
        if s.kind is trace.SpanKind.CONSUMER and s.attributes is not None
    }
    assert outcomes == {aborted.id: "aborted", cancelled.id: "cancelled"}
