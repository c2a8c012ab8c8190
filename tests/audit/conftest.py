"""The audit tests use the worker tests' queue and worker fixtures, django-arq's pytest plugin, an
in-process worker's jobs, a recorder driven by hand, and record writers ended after the test."""

from django_arq.pytest_plugin import arq_records
from tests.audit.burst import audit_jobs, plain_arq
from tests.audit.handovers import writers
from tests.audit.recorders import recorder
from tests.worker.conftest import _close_executor_connections, queue_name, workers

__all__ = [
    "_close_executor_connections",
    "arq_records",
    "audit_jobs",
    "plain_arq",
    "queue_name",
    "recorder",
    "workers",
    "writers",
]
