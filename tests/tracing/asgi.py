"""The ASGI application of the live tracing test: the HTTP API's, inside OpenTelemetry's ASGI
middleware (a server span per request), with an SDK that writes every span to the file named by
``DJANGO_ARQ_TEST_SPANS``."""

import os

from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

from tests.tracing.exporter import export_to_file

export_to_file(os.environ["DJANGO_ARQ_TEST_SPANS"])

from tests.api.asgi import application as api  # noqa: E402 - once the provider is set

application = OpenTelemetryMiddleware(api)
