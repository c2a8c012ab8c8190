"""Schedules tests share the worker tests' fixtures (private queue, real worker processes), and an
emptied in-memory queue."""

import pytest

from django_arq import MockArqQueue, get_queue
from tests.worker.conftest import _close_executor_connections, queue_name, workers

__all__ = ["_close_executor_connections", "mock", "queue_name", "workers"]


@pytest.fixture
def mock() -> MockArqQueue:
    """The ``mock`` alias's MockArqQueue, emptied of other tests' jobs."""
    backend = get_queue("mock").backend
    assert isinstance(backend, MockArqQueue)
    with backend._lock:
        backend._jobs.clear()
    return backend
