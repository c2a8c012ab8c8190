"""The worker side: each job run in a consumer span, a child of the span that enqueued it.

The worker's deserializer notes the trace context of the payload it reads in a context variable
(arq reads a job's payload in the task that then runs it, so each job sees its own); the job
function's wrapper opens the span from it. A missing or malformed context gives a span of a trace
of its own, never an error; a valid one beside something the propagator refuses (baggage, say) is
read alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from typing import Any

from arq import Retry

from .context import ATTRIBUTES, PAYLOAD_KEY, error_type, otel, record_error, unsampled
from .traceparent import TRACE_FIELDS, Traceparent

__all__ = ["JobTracer", "job_tracer"]

Coroutine = Callable[..., Awaitable[Any]]
Loads = Callable[[bytes], Any]
#: Gives the trace context of the job about to run (a propagator's carrier), if it has one.
Carrier = Callable[[], "Mapping[str, str] | None"]
#: Gives the error of a cancelled run (not aborted), if its timeout stopped it.
TimedOut = Callable[[], "BaseException | None"]
#: The trace context of the job whose payload the current task read last.
#: (The payload's value as read, any value: ``traced`` checks it.)
_carrier: ContextVar[Any] = ContextVar("django_arq_trace_carrier", default=None)


def _valid_carrier(value: Any) -> Mapping[str, str] | None:
    """``value`` if it is a dict of text, as a propagator writes it; None for anything else."""
    if isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        return value
    return None


class JobTracer:
    """Opens a span around each job function of one worker."""

    def __init__(self, modules: Any, queue_name: str, aborting: Callable[[str], bool]) -> None:
        self._otel = modules
        self._queue_name = queue_name
        self._aborting = aborting
        self._consumer = modules.trace.SpanKind.CONSUMER
        self._error = modules.trace.StatusCode.ERROR
        self._traceparent = Traceparent(modules)

    def reading(self, loads: Loads) -> Loads:
        """The worker's job deserializer, noting the trace context of each payload it reads."""

        def read(raw: bytes) -> Any:
            data = loads(raw)
            # checked when read; a dict's own get, whatever class of dict the deserializer gives
            _carrier.set(dict.get(data, PAYLOAD_KEY) if isinstance(data, dict) else None)
            return data

        return read

    def _parent(self, value: Any) -> Any:
        """The context a job's carrier gives (any value: a dict of text, or it gives none; one that
        raises when read, as an object a deserializer made may, gives none too)."""
        try:
            carrier = _valid_carrier(value)
            return self._read(carrier) if carrier else None
        except Exception:  # never a failed job for its trace key: a trace of its own
            return None

    def _read(self, carrier: Mapping[str, str]) -> Any:
        try:
            context = self._traceparent.read(carrier)
            return self._otel.propagate.extract(carrier) if context is None else context
        except Exception:  # a propagator refusing odd text (a baggage value, say): the trace context
            # alone is read again, and if it is the odd text the job runs in a trace of its own
            alone = {key: carrier[key] for key in TRACE_FIELDS if key in carrier}
            return self._read(alone) if alone and len(alone) < len(carrier) else None

    def traced(
        self, name: str, fn: Coroutine, carrier: Carrier = _carrier.get, timed_out: TimedOut | None = None
    ) -> Coroutine:
        """``fn`` run inside a span, the current span while it runs; its trace id in ``ctx["trace_id"]``.

        The span is a child of the trace context ``carrier()`` gives when the job starts: by default
        the one the worker's deserializer noted for the job (see ``reading``). A context that says
        "not sampled" gets no span (as on the enqueue side): it is current while the job runs. A
        cancelled run for which ``timed_out`` gives an error failed with it; else it was cancelled.
        """
        trace, start, attach, detach = (
            self._otel.trace,
            self._otel.tracer.start_span,
            self._otel.context.attach,
            self._otel.context.detach,
        )

        remote = self._traceparent.remote

        async def run(ctx: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
            value = carrier()
            plain = remote(value)
            if plain is None:  # anything but a plain context: read as the propagator reads it
                parent = self._parent(value)
                unsampled_id = self._unsampled_trace_id(parent)
            else:
                parent, unsampled_id = plain.context, None if plain.sampled else plain.trace_id
            if unsampled_id is not None:  # records nothing: the job runs in the carried context
                ctx["trace_id"] = unsampled_id
                token = attach(parent)
                try:
                    return await fn(ctx, *args, **kwargs)
                finally:
                    detach(token)
            attributes = {
                ATTRIBUTES.system: "arq",
                ATTRIBUTES.queue: self._queue_name,
                ATTRIBUTES.job_id: ctx["job_id"],
                ATTRIBUTES.function: name,
                ATTRIBUTES.job_try: ctx["job_try"],
            }
            span = start(f"run {name}", context=parent, kind=self._consumer, attributes=attributes)
            context = trace.set_span_in_context(span)
            span_context = span.get_span_context()
            if span_context.is_valid:
                ctx["trace_id"] = trace.format_trace_id(span_context.trace_id)
            token = attach(context)
            try:
                result = await fn(ctx, *args, **kwargs)
            except BaseException as exc:
                self._failed(span, ctx["job_id"], exc, timed_out)
                raise
            else:
                span.set_attribute(ATTRIBUTES.outcome, "success")
            finally:
                detach(token)
                span.end()
            return result

        return run

    def _unsampled_trace_id(self, parent: Any) -> str | None:
        """The trace id of ``parent``'s span if its trace is not sampled; None otherwise (or without
        a parent)."""
        if parent is None:
            return None
        span_context = self._otel.trace.get_current_span(parent).get_span_context()
        return self._otel.trace.format_trace_id(span_context.trace_id) if unsampled(span_context) else None

    def _failed(self, span: Any, job_id: str, exc: BaseException, timed_out: TimedOut | None) -> None:
        outcome = "failure"
        if isinstance(exc, Retry):
            outcome = "retry"
        elif isinstance(exc, asyncio.CancelledError):
            if self._aborting(job_id):
                outcome = "aborted"
            else:  # stopped by its timeout (arq fails the job) or by a shutdown (it runs it again)
                timeout = None if timed_out is None else timed_out()
                if timeout is None:
                    outcome = "cancelled"
                else:
                    exc = timeout
        if outcome == "failure":
            record_error(span, exc, self._error)
        span.set_attributes({ATTRIBUTES.outcome: outcome, ATTRIBUTES.error_type: error_type(exc)})


def job_tracer(enabled: bool, queue_name: str, aborting: Callable[[str], bool]) -> JobTracer | None:
    """The tracer of a worker's jobs (``aborting(job_id)`` tells an abort from another
    cancellation); None when ``enabled`` is false or OpenTelemetry is not installed."""
    if not enabled:
        return None
    modules = otel()
    return None if modules is None else JobTracer(modules, queue_name, aborting)
