"""Schedules tests share the worker tests' fixtures (private queue, real worker processes)."""

from tests.worker.conftest import _close_executor_connections, queue_name, workers

__all__ = ["_close_executor_connections", "queue_name", "workers"]
