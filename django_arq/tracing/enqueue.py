"""The enqueue side: a producer span per job, its context put in the job's payload.

In a trace that is not sampled (the current span neither sampled nor recording), no span is
made: each job carries the current span's context, which says "not sampled" to the worker as an
unrecorded span of ours would, at a fraction of the cost. Samplers decide by the parent or by
the trace id, so that span's children would not have been sampled either.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from typing import Any, TypeVar

from .context import ATTRIBUTES, TraceContext, error_type, otel, record_error
from .traceparent import KEY, SAMPLED, TRACE_ID, Traceparent

__all__ = ["EnqueueTracer", "Spans", "enqueue_tracer"]

T = TypeVar("T")
#: What a job gets from a span that carries no trace.
NO_CONTEXT = TraceContext({}, None)
#: An I/O-free operation (``queues.protocol.Op``) that enqueues jobs.
Send = Generator[Any, Any, T]
_SYSTEM, _QUEUE, _JOB_ID, _FUNCTION, _OUTCOME = (
    ATTRIBUTES.system,
    ATTRIBUTES.queue,
    ATTRIBUTES.job_id,
    ATTRIBUTES.function,
    ATTRIBUTES.outcome,
)


class EnqueueTracer:
    """Runs an enqueue operation inside one span per job, each a child of the current span.

    The OpenTelemetry functions an enqueue calls are looked up once, here, not per job: the
    global tracer provider and propagator are still read at each call, through them.
    """

    def __init__(self, modules: Any) -> None:
        self._start = modules.tracer.start_span
        self._context = modules.context.get_current
        self._current = modules.trace.get_current_span
        self._inject = modules.propagate.inject
        self._in_context = modules.trace.set_span_in_context
        self._trace_id = modules.trace.format_trace_id
        self._producer = modules.trace.SpanKind.PRODUCER
        self._error = modules.trace.StatusCode.ERROR
        self._traceparent = Traceparent(modules)

    def _span(self, name: str, queue: str, job_id: str) -> tuple[Any, TraceContext]:
        """A started span for one job, and its context for the payload (none for an invalid span,
        as the API makes when no SDK is configured)."""
        span = self._start(
            f"enqueue {name}",
            kind=self._producer,
            attributes={
                _SYSTEM: "arq",
                _QUEUE: queue,
                _JOB_ID: job_id,
                _FUNCTION: name,
                _OUTCOME: "enqueued",  # unless it raises
            },
        )
        span_context = span.get_span_context()
        if not span_context.is_valid:
            return span, NO_CONTEXT
        # Injected even when the span is not recording: its context says so, and carries the
        # sampling decision to the worker (a parent-based sampler follows it there).
        return span, self._carried(span_context, self._in_context(span))

    def _unsampled(self) -> TraceContext | None:
        """The context of the current span if its trace is not sampled (and it records nothing).

        The path of most enqueues: each call it makes costs a traced web process more than it
        does in a loop, so the current context is read once and the flags tested in place."""
        context = self._context()
        current = self._current(context)
        span_context = current.get_span_context()
        if not span_context.is_valid or span_context.trace_flags & SAMPLED or current.is_recording():
            return None
        return self._carried(span_context, context)

    def _carried(self, span_context: Any, context: Any) -> TraceContext:
        """What a job carries: the carrier of ``context``, whose span's context is
        ``span_context``, and the trace id as the API's ``format_trace_id`` formats it."""
        carrier = self._traceparent.write(span_context, context)
        if carrier is not None:
            return TraceContext(carrier, carrier[KEY][TRACE_ID])
        carrier = {}
        self._inject(carrier, context=context)
        return TraceContext(carrier, self._trace_id(span_context.trace_id))

    def spans(self, jobs: Sequence[tuple[str, str, str]]) -> Spans:
        """One started span per job of ``jobs`` (function name, queue name, job id), to end with
        ``with``, whose block gets each job's context; none in a trace not sampled (see above)."""
        unsampled = self._unsampled()
        if unsampled is None:
            return self._started(jobs)
        started = Spans(self._error)
        started.contexts.extend(unsampled for _ in jobs)
        return started

    def _started(self, jobs: Sequence[tuple[str, str, str]]) -> Spans:
        """One started span per job, whatever the trace."""
        started = Spans(self._error)
        for name, queue, job_id in jobs:
            span, context = self._span(name, queue, job_id)
            started.spans.append(span)
            started.contexts.append(context)
        return started

    def trace(
        self,
        count: int,
        jobs: Callable[[], Sequence[tuple[str, str, str]]],
        send: Callable[[list[TraceContext]], Send[T]],
    ) -> Send[T]:
        """``send(contexts)`` (an I/O-free operation) inside the ``spans`` of ``jobs()``, the
        ``count`` jobs it enqueues; in a trace not sampled, that operation itself (``jobs`` is not
        called: no span is made)."""
        unsampled = self._unsampled()
        if unsampled is not None:
            return send([unsampled] * count)
        return self._traced(jobs(), send)

    def _traced(
        self, jobs: Sequence[tuple[str, str, str]], send: Callable[[list[TraceContext]], Send[T]]
    ) -> Send[T]:
        with self._started(jobs) as contexts:
            return (yield from send(contexts))


class Spans:
    """The started spans of one enqueue: ``with`` gives their contexts and ends them, with its
    block's error if it raises (a plain class: cheaper than a generator-based context manager)."""

    __slots__ = ("_error", "contexts", "spans")

    def __init__(self, error: Any) -> None:
        self._error = error
        self.spans: list[Any] = []
        self.contexts: list[TraceContext] = []

    def __enter__(self) -> list[TraceContext]:
        return self.contexts

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        try:
            if exc is not None:
                refused = {_OUTCOME: "refused", ATTRIBUTES.error_type: error_type(exc)}
                for span in self.spans:
                    span.set_attributes(refused)
                    record_error(span, exc, self._error)
        finally:  # every span ends, whatever describing the error did
            for span in self.spans:
                span.end()


def enqueue_tracer(enabled: bool) -> EnqueueTracer | None:
    """The tracer of an alias's enqueues: None when ``enabled`` is false or OpenTelemetry is not
    installed (then nothing of it is imported)."""
    if not enabled:
        return None
    modules = otel()
    return None if modules is None else EnqueueTracer(modules)
