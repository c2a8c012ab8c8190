"""Settings of the traced worker processes: the worker tests' settings, and an OpenTelemetry SDK
that writes every span to the file named by ``DJANGO_ARQ_TEST_SPANS``."""

import os

from tests.tracing.exporter import export_to_file
from tests.worker.settings import *  # noqa: F403

export_to_file(os.environ["DJANGO_ARQ_TEST_SPANS"])
