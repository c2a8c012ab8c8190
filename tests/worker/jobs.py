"""Job functions that only the worker tests use."""

import asyncio
import os
import signal
import sys
import threading
import time
from typing import Any

import redis
from arq.worker import Retry
from django.contrib.auth.models import Group
from django.db import connection

from django_arq import report_progress, report_progress_sync
from tests.settings import REDIS_URL


async def retry_once(ctx: dict[str, Any]) -> int:
    if ctx["job_try"] < 2:
        raise Retry(defer=0.05)
    return int(ctx["job_try"])


def create_group(ctx: dict[str, Any], name: str) -> dict[str, Any]:
    """A sync job using the ORM; reports whether its thread started without a connection open."""
    fresh = connection.connection is None
    group = Group.objects.create(name=name)
    return {"pk": group.pk, "fresh_connection": fresh}


async def noop(ctx: dict[str, Any]) -> None:
    return None


def sync_tick(ctx: dict[str, Any]) -> str:
    return "tick"


def sync_exit(ctx: dict[str, Any], code: int) -> None:
    sys.exit(code)


async def async_exit(ctx: dict[str, Any], code: int) -> None:
    sys.exit(code)


def sync_interrupt(ctx: dict[str, Any]) -> None:
    raise KeyboardInterrupt("stop")


async def async_interrupt(ctx: dict[str, Any]) -> None:
    raise KeyboardInterrupt("stop")


def sync_report_then_exit(ctx: dict[str, Any], steps: int) -> None:
    """Report ``steps`` times as fast as it can, then ``sys.exit``: the last report is waiting."""
    for step in range(1, steps + 1):
        report_progress_sync(ctx, step, steps)
    sys.exit(3)


async def async_report_then_interrupt(ctx: dict[str, Any], steps: int) -> None:
    """Report ``steps`` times as fast as it can, then raise ``KeyboardInterrupt``."""
    for step in range(1, steps + 1):
        await report_progress(ctx, step, steps)
    raise KeyboardInterrupt("stop")


async def count_groups(ctx: dict[str, Any], prefix: str) -> int:
    """An async job using the async ORM (thread-sensitive sync code under the hood)."""
    return await Group.objects.filter(name__startswith=prefix).acount()


async def count_groups_on_shutdown(ctx: dict[str, Any]) -> None:
    """An ON_SHUTDOWN hook using the async ORM."""
    ctx["groups_at_shutdown"] = await Group.objects.acount()


def _go_key(ctx: dict[str, Any]) -> str:
    return f"django-arq-tests:go:{ctx['job_id']}"


async def stepwise(ctx: dict[str, Any], steps: int) -> int:
    """Report step 1, 2, ... of ``steps``, each once the test has raised the job's go key to it."""
    for step in range(1, steps + 1):
        await report_progress(ctx, step, steps, f"step {step}")
        while int(await ctx["redis"].get(_go_key(ctx)) or 0) < step:
            await asyncio.sleep(0.01)
    return steps


def sync_stepwise(ctx: dict[str, Any], steps: int) -> int:
    """``stepwise``'s sync twin, run in a thread."""
    client = redis.Redis.from_url(REDIS_URL)
    try:
        for step in range(1, steps + 1):
            report_progress_sync(ctx, step, steps, f"step {step}")
            while int(client.get(_go_key(ctx)) or 0) < step:
                time.sleep(0.01)
    finally:
        client.close()
    return steps


def _reported_late_key(ctx: dict[str, Any]) -> str:
    return f"django-arq-tests:reported-late:{ctx['job_id']}"


#: Tasks that ``report_after_return`` leaves running (the loop keeps only weak references).
_LEFT_RUNNING: set[asyncio.Task[None]] = set()


async def report_after_return(ctx: dict[str, Any]) -> str:
    """Report 1 of 2 and return, leaving a task that reports 2 of 2 once the test sets the job's go
    key, then sets its reported-late key."""

    async def late() -> None:
        deadline = time.monotonic() + 60
        while not await ctx["redis"].get(_go_key(ctx)) and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        await report_progress(ctx, 2, 2, "after the job")
        await ctx["redis"].set(_reported_late_key(ctx), 1)

    await report_progress(ctx, 1, 2, "in the job")
    task = asyncio.create_task(late())
    _LEFT_RUNNING.add(task)
    task.add_done_callback(_LEFT_RUNNING.discard)
    return "returned"


def sync_report_after_return(ctx: dict[str, Any]) -> str:
    """``report_after_return``'s sync twin: the job's thread starts a thread that reports late."""

    def late() -> None:
        client = redis.Redis.from_url(REDIS_URL)
        try:
            deadline = time.monotonic() + 60
            while not client.get(_go_key(ctx)) and time.monotonic() < deadline:
                time.sleep(0.01)
            report_progress_sync(ctx, 2, 2, "after the job")
            client.set(_reported_late_key(ctx), 1)
        finally:
            client.close()

    report_progress_sync(ctx, 1, 2, "in the job")
    threading.Thread(target=late, daemon=True).start()
    return "returned"


async def say(ctx: dict[str, Any], message: Any, done: Any = 1) -> str:
    """Report ``done`` with ``message``, whatever they are."""
    await report_progress(ctx, done, None, message)
    return "said"


async def mark_and_sleep(ctx: dict[str, Any], key: str, first_seconds: float) -> str:
    """Notes each run (pid and try) on the Redis list ``key``; the first try sleeps ``first_seconds``."""
    run = f"{os.getpid()}:{ctx['job_try']}"
    await ctx["redis"].rpush(key, run)
    if ctx["job_try"] == 1:
        await asyncio.sleep(first_seconds)
    return run


async def flaky(ctx: dict[str, Any], kind: str, succeed_on: int) -> int:
    """Raises ``kind`` ("connection" or "value") until try ``succeed_on``, then returns the try."""
    if ctx["job_try"] < succeed_on:
        raise (ConnectionError if kind == "connection" else ValueError)(f"try {ctx['job_try']} failed")
    return int(ctx["job_try"])


async def slow(ctx: dict[str, Any], seconds: float) -> str:
    await asyncio.sleep(seconds)
    return "done"


async def retry_later(ctx: dict[str, Any]) -> None:
    raise ConnectionError("the shop's API is down")


async def retry_in(ctx: dict[str, Any], seconds: Any) -> None:
    """Asks arq to run it again in ``seconds`` (a delay arq cannot keep, in the tests)."""
    raise Retry(defer=seconds)


class Unprintable(Exception):
    """An exception none of whose text can be made: its ``__str__`` and ``__repr__`` raise."""

    def __str__(self) -> str:
        raise AttributeError("no message")

    def __repr__(self) -> str:
        raise AttributeError("no repr")


async def raise_unprintable(ctx: dict[str, Any]) -> None:
    raise Unprintable()


async def return_unprintable(ctx: dict[str, Any]) -> Unprintable:
    return Unprintable()


#: The ids of the ``shrug_off_abort`` jobs that are ready to take an abort back (in-process workers).
SHRUGGING: set[str] = set()


async def shrug_off_abort(ctx: dict[str, Any], seconds: float) -> str:
    """Takes its job's cancellation back and returns, as a Django task settled before an abort does."""
    SHRUGGING.add(ctx["job_id"])
    try:
        await asyncio.sleep(seconds)
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is not None:
            task.uncancel()
        return "kept"
    return "slept"


def _linger(ready_key: str) -> None:
    """A non-daemon thread's body, or a sync job's: notes on Redis that it runs, then sleeps an hour."""
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.set(ready_key, threading.current_thread().name, ex=600)
    finally:
        client.close()
    time.sleep(3600)


async def leave_thread(ctx: dict[str, Any], name: str) -> str:
    """Starts a non-daemon thread named ``name`` that sleeps for an hour, and returns."""
    threading.Thread(target=_linger, args=(f"{ctx['job_id']}:running",), name=name).start()
    return "left"


def sync_sleep_an_hour(ctx: dict[str, Any]) -> None:
    """A sync job that a cancellation cannot stop: its thread runs on."""
    _linger(f"{ctx['job_id']}:running")


async def ignore_sigterm(ctx: dict[str, Any]) -> str:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    return "ignored"


async def default_sigterm(ctx: dict[str, Any]) -> str:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    return "default"


async def stop_loop(ctx: dict[str, Any]) -> str:
    asyncio.get_running_loop().stop()
    return "stopped"
