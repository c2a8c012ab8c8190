"""The audit tests use the worker tests' queue and worker fixtures, and django-arq's pytest plugin."""

from django_arq.pytest_plugin import arq_records
from tests.worker.conftest import _close_executor_connections, queue_name, workers

__all__ = ["_close_executor_connections", "arq_records", "queue_name", "workers"]
