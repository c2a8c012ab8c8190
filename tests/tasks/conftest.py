"""Fixtures for the django.tasks tests: TASKS on arq, and a real worker process running Django tasks.

Version gate: ``django.tasks`` exists from Django 6.0; on older Django this directory is not
collected at all (the Django 6 leg runs it with ``.venv-dj6/bin/pytest tests/tasks``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import django
import pytest

if django.VERSION < (6, 0):
    collect_ignore_glob = ["*.py"]


@pytest.fixture(autouse=True)
def tasks_settings(settings: Any) -> Any:
    """TASKS and the tasks' ARQ_QUEUES aliases, as in tests/tasks/settings.py (which workers use)."""
    from tests.tasks import settings as task_settings

    settings.ARQ_QUEUES = task_settings.ARQ_QUEUES
    settings.TASKS = task_settings.TASKS
    return settings


@pytest.fixture(scope="session")
def task_worker(redis_url: str) -> Iterator[Any]:
    """One worker on the "tasks" alias's default arq queue for the whole session."""
    from tests.tasks.support import clear_task_keys, start_task_worker

    clear_task_keys(redis_url)
    worker = start_task_worker()
    yield worker
    worker.stop()
