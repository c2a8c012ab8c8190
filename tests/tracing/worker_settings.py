"""Settings of the traced worker processes: the worker tests' settings, and an OpenTelemetry SDK
that writes every span to the file named by ``DJANGO_ARQ_TEST_SPANS``."""

import os

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from tests.tracing.exporter import JsonLinesExporter
from tests.worker.settings import *  # noqa: F403

_provider = TracerProvider()
_provider.add_span_processor(SimpleSpanProcessor(JsonLinesExporter(os.environ["DJANGO_ARQ_TEST_SPANS"])))
trace.set_tracer_provider(_provider)
