"""Django tasks used by the tests, run by ImmediateBackend and by ArqBackend on a real arq worker."""

import asyncio
import json
import os
import sys
import threading
import time
from typing import Any

import redis
from arq.worker import Retry
from django.conf import settings
from django.tasks import TaskContext, task
from django.tasks.signals import task_finished, task_started

from django_arq import report_progress, report_progress_sync

SIGNALS_KEY = "django-arq-tests:tasks:signals"


class TaskBoom(Exception):
    """Raised by the failing tasks, so that the class path is ours."""


@task
def add(a: int, b: int) -> int:
    return a + b


@task
async def async_add(a: int, b: int) -> int:
    await asyncio.sleep(0)
    return a + b


@task
def echo(*args: Any, **kwargs: Any) -> dict[str, Any]:
    return {"args": args, "kwargs": kwargs}


@task(takes_context=True)
def whoami(context: TaskContext, tag: str) -> dict[str, Any]:
    r = context.task_result
    return {"tag": tag, "id": r.id, "attempt": context.attempt, "status": r.status, "backend": r.backend}


@task(takes_context=True)
async def async_whoami(context: TaskContext, tag: str) -> dict[str, Any]:
    r = context.task_result
    return {"tag": tag, "id": r.id, "attempt": context.attempt, "status": r.status, "backend": r.backend}


@task
def fail(message: str) -> None:
    raise TaskBoom(message)


@task
async def async_fail(message: str) -> None:
    await asyncio.sleep(0)
    raise TaskBoom(message)


@task
def bad_return() -> Any:
    return {1, 2}  # a set: not JSON, so the task fails as Django's own backends fail it


@task
def pid() -> int:
    return os.getpid()


@task
async def sleep_for(seconds: float) -> str:
    await asyncio.sleep(seconds)
    return "slept"


@task(takes_context=True)
def flaky(context: TaskContext, succeed_on: int) -> int:
    """Asks arq to run it again (``Retry``) until attempt ``succeed_on``."""
    if context.attempt < succeed_on:
        raise Retry(defer=0.05)
    return context.attempt


@task(takes_context=True)
def report_steps(context: TaskContext, steps: int) -> int:
    """Reports its progress through its TaskContext, in the worker's thread."""
    for step in range(1, steps + 1):
        report_progress_sync(context, step, steps, f"step {step}")
    return steps


@task(takes_context=True)
async def async_report_steps(context: TaskContext, steps: int) -> int:
    for step in range(1, steps + 1):
        await report_progress(context, step, steps, f"step {step}")
    return steps


def not_a_task(a: int) -> int:
    return a


def _log_signal(name: str, task_result: Any) -> None:
    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        entry = {"signal": name, "id": task_result.id, "status": task_result.status, "pid": os.getpid()}
        client.rpush(SIGNALS_KEY, json.dumps(entry))
    finally:
        client.close()


def on_started(sender: Any, task_result: Any, **kwargs: Any) -> None:
    _log_signal("task_started", task_result)


def on_finished(sender: Any, task_result: Any, **kwargs: Any) -> None:
    _log_signal("task_finished", task_result)


task_started.connect(on_started, dispatch_uid="tests.tasks.started")
task_finished.connect(on_finished, dispatch_uid="tests.tasks.finished")


@task
def exits(code: int) -> None:
    sys.exit(code)


@task
async def async_exits(code: int) -> None:
    await asyncio.sleep(0)
    sys.exit(code)


@task
def interrupted() -> None:
    raise KeyboardInterrupt("stop")


@task
async def async_interrupted() -> None:
    await asyncio.sleep(0)
    raise KeyboardInterrupt("stop")


@task(takes_context=True)
def unsteady(context: TaskContext, kind: str, succeed_on: int) -> int:
    """Raises ``kind`` ("connection" or "value") until attempt ``succeed_on``; OPTIONS["TASKS"]
    retries it on ConnectionError only."""
    if context.attempt < succeed_on:
        raise (ConnectionError if kind == "connection" else ValueError)(f"attempt {context.attempt}")
    return context.attempt


@task
async def too_slow(seconds: float) -> str:
    """OPTIONS["TASKS"] gives it a TIMEOUT of 0.3 s."""
    await asyncio.sleep(seconds)
    return "slept"


@task
def cancels_itself() -> None:
    raise asyncio.CancelledError()  # its own, not its job's: it fails as any other exception


@task
async def async_cancels_itself() -> None:
    await asyncio.sleep(0)
    raise asyncio.CancelledError()


@task
def retries_in(seconds: float) -> None:
    raise Retry(defer=seconds)  # a delay arq cannot keep, in the tests


@task
def thread_name() -> str:
    return threading.current_thread().name


@task
def sync_sleep(seconds: float) -> str:
    time.sleep(seconds)
    return "slept"


@task
def meet(key: str, count: int, within: float) -> int:
    """Waits in its thread until ``count`` tasks given ``key`` have started, or ``within`` seconds
    have passed; returns how many it saw."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        client.incr(key)
        client.expire(key, 60)
        deadline = time.monotonic() + within
        while (seen := int(client.get(key) or 0)) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return seen
    finally:
        client.close()


@task
def collides() -> dict[Any, str]:
    return {1: "a", "1": "b"}  # one key, once JSON writes it
