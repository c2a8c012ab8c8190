"""The audit tests use the worker tests' queue and worker fixtures."""

from tests.worker.conftest import _close_executor_connections, queue_name, workers

__all__ = ["_close_executor_connections", "queue_name", "workers"]
