"""Django's Tasks framework (``django.tasks``, Django 6.0+) on arq.

``backend`` holds ``ArqBackend`` (the web side: enqueue, results), ``runner`` the arq job that
runs a task in the worker, ``lifecycle`` what that job does around the task function,
``attempts`` the attempt log, and ``common`` what else both sides share. Importing this package
on Django 5.2 raises ``ImportError`` with the reason.
"""

from __future__ import annotations

import django

try:
    import django.tasks
except ImportError as exc:  # Django < 6.0
    raise ImportError(
        "django_arq.tasks needs Django 6.0 or later (django.tasks); "
        f"Django {django.get_version()} is installed"
    ) from exc

from ..conf import RUN_TASK
from .backend import ArqBackend
from .common import TaskFailed
from .runner import run_task, worker_functions

__all__ = ["RUN_TASK", "ArqBackend", "TaskFailed", "run_task", "worker_functions"]
