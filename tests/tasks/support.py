"""Helpers for the django.tasks tests: worker processes, waiting for results, child-process env."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from typing import Any

import redis

from tests.helpers import ROOT, Process, wait_for

TASKS_SETTINGS = "tests.tasks.settings"


def task_env() -> dict[str, str]:
    """Environment for a child process that uses the tasks settings."""
    return {**os.environ, "DJANGO_SETTINGS_MODULE": TASKS_SETTINGS, "PYTHONPATH": str(ROOT)}


def clear_task_keys(redis_url: str) -> None:
    """Drop the arq queues and side keys of the tasks tests (job ids are random, so results stay)."""
    client = redis.Redis.from_url(redis_url)
    try:
        for key in client.scan_iter("django-arq-tests:tasks*"):
            client.delete(key)
    finally:
        client.close()


def start_task_worker(
    alias: str = "tasks",
    *,
    queue: str | None = None,
    burst: bool = False,
    plain: bool = False,
    db_name: str = "",
    options: Sequence[str] = (),
) -> Process:
    """A real worker process running Django tasks: ``manage.py arq_worker --alias ALIAS``.

    ``plain=True`` runs arq's own CLI with ``tests.tasks.worker_settings`` instead (Django set up
    there, functions from ``worker_functions("tasks")``). ``db_name`` points the worker at the test
    process's database; ``options`` are more of arq_worker's (``--max-jobs 12``).
    """
    env = {"DJANGO_SETTINGS_MODULE": TASKS_SETTINGS, "PYTHONPATH": str(ROOT), "TASKS_TEST_QUEUE": queue or ""}
    if db_name:
        env["DJANGO_ARQ_WORKER_DB_NAME"] = db_name
    if plain:
        args = [sys.executable, "-m", "arq", "tests.tasks.worker_settings.WorkerSettings"]
        args += ["--burst"] if burst else []
    else:
        args = [sys.executable, "-m", "django", "arq_worker", "--alias", alias]
        args += (["--queue", queue] if queue else []) + (["--burst"] if burst else []) + list(options)
    worker = Process(args, env=env)
    if not burst:
        wait_for(lambda: "Starting worker" in worker.output() or worker.proc.poll() is not None, timeout=30)
        if worker.proc.poll() is not None:
            raise RuntimeError(f"worker for Django tasks exited:\n{worker.output()}")
    return worker


def run_burst_worker(*args: Any, **kwargs: Any) -> Process:
    """Start a burst worker and wait until it has run the queued jobs and exited cleanly."""
    worker = start_task_worker(*args, burst=True, **kwargs)
    wait_for(lambda: worker.proc.poll() is not None, timeout=60)
    assert worker.proc.returncode == 0, worker.output()
    return worker


def wait_finished(result: Any, timeout: float = 15) -> Any:
    """Refresh a TaskResult until it is finished (polling Redis), then return it."""
    deadline = time.monotonic() + timeout
    while not result.is_finished:
        if time.monotonic() > deadline:
            raise AssertionError(f"task {result.id} still {result.status} after {timeout}s")
        time.sleep(0.02)
        result.refresh()
    return result
