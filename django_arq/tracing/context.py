"""OpenTelemetry, imported only when a traced alias first needs it, and the trace context in a job.

The context travels in the serialized job dict under ``PAYLOAD_KEY``, as the W3C ``traceparent``
(and ``tracestate``) that the globally configured propagator writes (or django-arq in its place,
for a plain context: see ``traceparent``); arq's ``deserialize_job_raw`` reads only its own keys,
so a plain arq worker runs such a job as any other.
"""

from __future__ import annotations

from functools import cache
from types import SimpleNamespace
from typing import Any, NamedTuple

__all__ = [
    "ATTRIBUTES",
    "PAYLOAD_KEY",
    "TRACER_NAME",
    "TraceContext",
    "error_type",
    "otel",
    "record_error",
    "tracing_available",
    "unsampled",
]

#: The key of the serialized job dict that holds the trace context (arq's own are t, f, a, k, et).
PAYLOAD_KEY = "trace"
#: The instrumentation scope of the spans.
TRACER_NAME = "django_arq"
#: The span attributes, by what they say.
ATTRIBUTES = SimpleNamespace(
    system="messaging.system",
    queue="messaging.destination.name",
    job_id="arq.job.id",
    function="arq.job.function",
    job_try="arq.job.try",
    outcome="arq.job.outcome",
    error_type="error.type",
)


@cache
def otel() -> Any:
    """The ``opentelemetry`` modules the spans need (``trace``, ``propagate``, ``context``,
    ``baggage``), or None if the package is not installed; imported on first use only."""
    try:
        from opentelemetry import baggage, context, propagate, trace
    except ImportError:
        return None
    return SimpleNamespace(
        trace=trace,
        propagate=propagate,
        context=context,
        baggage=baggage,
        tracer=trace.get_tracer(TRACER_NAME),
    )


def tracing_available() -> bool:
    """Whether ``opentelemetry-api`` can be imported (importing it)."""
    return otel() is not None


class TraceContext(NamedTuple):
    """What an enqueue span gives its job: the carrier put in the payload and the trace id (a
    tuple: made once per traced job, cheaper than a frozen dataclass)."""

    carrier: dict[str, str]
    trace_id: str | None


def unsampled(span_context: Any) -> bool:
    """Whether ``span_context`` is of a trace whose spans are not sampled (a valid context saying so)."""
    return bool(span_context.is_valid and not span_context.trace_flags.sampled)


def error_type(exc: BaseException) -> str:
    """The ``error.type`` of an exception: its class's dotted path."""
    kind = type(exc)
    return kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"


def record_error(span: Any, exc: BaseException, status: Any) -> None:
    """``exc`` recorded on ``span`` as an event, and the span's status set to ``status`` (the
    error) with its text; an exception whose text cannot be made gets the status alone."""
    try:
        span.record_exception(exc)
        span.set_status(status, str(exc))
    except Exception:  # its type, in error.type, says enough
        span.set_status(status)
