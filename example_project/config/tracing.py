"""OpenTelemetry for the example shop: every span of the process printed to the console, one JSON
line each (``EXAMPLE_TRACES=console``; needs ``opentelemetry-sdk``).

A real project exports to its collector instead (``opentelemetry-exporter-otlp``'s
``OTLPSpanExporter`` in a ``BatchSpanProcessor``) and instruments Django's requests
(``opentelemetry-instrumentation-django``), so that each enqueue's span is a child of its request's.
"""

import os

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor


def one_line(span: ReadableSpan) -> str:
    return span.to_json(indent=None) + os.linesep


def export_traces_to_console(service_name: str = "shop") -> None:
    """Install an SDK tracer provider whose spans go to standard output as they end."""
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter(formatter=one_line)))
    trace.set_tracer_provider(provider)
