"""OpenTelemetry traces of jobs, from the enqueue into the worker (the ``django-arq[otel]`` extra).

An enqueue through an alias with ``TRACING`` on (the default) is a span, a child of the current
span, whose W3C trace context travels in the job's payload under an extra key that arq's own
worker ignores; the worker runs the job in a span that is a child of it, so both are one trace.
Without ``opentelemetry-api`` installed, or with ``TRACING: False``, nothing of OpenTelemetry is
imported and the enqueue and the worker run as without this package.
"""

from .context import PAYLOAD_KEY, TraceContext, tracing_available
from .enqueue import EnqueueTracer, enqueue_tracer
from .jobs import JobTracer, job_tracer

__all__ = [
    "PAYLOAD_KEY",
    "EnqueueTracer",
    "JobTracer",
    "TraceContext",
    "enqueue_tracer",
    "job_tracer",
    "tracing_available",
]
