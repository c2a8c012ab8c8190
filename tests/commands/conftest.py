"""The command tests share the API tests' child-process settings and the worker tests' fixtures."""

from tests.api.conftest import lonely_queue
from tests.worker.conftest import _close_executor_connections, queue_name, workers

__all__ = ["_close_executor_connections", "lonely_queue", "queue_name", "workers"]
