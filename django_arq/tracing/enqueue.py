"""The enqueue side: a producer span per job, its context put in the job's payload."""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from typing import Any, TypeVar

from .context import ATTRIBUTES, TraceContext, error_type, otel

__all__ = ["EnqueueTracer", "enqueue_tracer"]

T = TypeVar("T")
#: What a job gets from a span that carries no trace.
NO_CONTEXT = TraceContext({}, None)
#: An I/O-free operation (``queues.protocol.Op``) that enqueues jobs.
Send = Generator[Any, Any, T]


class EnqueueTracer:
    """Runs an enqueue operation inside one span per job, each a child of the current span."""

    def __init__(self, modules: Any) -> None:
        self._otel = modules
        self._producer = modules.trace.SpanKind.PRODUCER
        self._error = modules.trace.StatusCode.ERROR

    def _context(self, span: Any) -> TraceContext:
        """The span's context for the payload; none for an invalid span (no SDK is configured)."""
        if not span.get_span_context().is_valid:
            return NO_CONTEXT
        carrier: dict[str, str] = {}
        self._otel.propagate.inject(carrier, context=self._otel.trace.set_span_in_context(span))
        return TraceContext(carrier, self._otel.trace.format_trace_id(span.get_span_context().trace_id))

    def trace(
        self, jobs: Sequence[tuple[str, str, str]], send: Callable[[list[TraceContext]], Send[T]]
    ) -> Send[T]:
        """``send(contexts)``, one context per job of ``jobs`` (function name, queue name, job id),
        inside the jobs' spans, which end when it returns, or with its error if it raises."""
        start = self._otel.tracer.start_span
        spans = [
            start(
                f"enqueue {name}",
                kind=self._producer,
                attributes={
                    ATTRIBUTES.system: "arq",
                    ATTRIBUTES.queue: queue,
                    ATTRIBUTES.job_id: job_id,
                    ATTRIBUTES.function: name,
                    ATTRIBUTES.outcome: "enqueued",  # unless it raises
                },
            )
            for name, queue, job_id in jobs
        ]
        try:
            sent = yield from send([self._context(span) for span in spans])
        except BaseException as exc:
            for span in spans:
                span.set_attributes({ATTRIBUTES.outcome: "refused", ATTRIBUTES.error_type: error_type(exc)})
                span.record_exception(exc)
                span.set_status(self._error, str(exc))
                span.end()
            raise
        for span in spans:
            span.end()
        return sent


def enqueue_tracer(enabled: bool) -> EnqueueTracer | None:
    """The tracer of an alias's enqueues: None when ``enabled`` is false or OpenTelemetry is not
    installed (then nothing of it is imported)."""
    if not enabled:
        return None
    modules = otel()
    return None if modules is None else EnqueueTracer(modules)
