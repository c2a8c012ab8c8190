"""What every peer driver shares: Django settings, the start marker, and the subcommands.

A driver is a module beside this one that defines the job functions of its system and:

    SETTINGS            ``setup(django_settings(...))`` (Django set up on import), or None
    reset()             empty the system's result tables (Redis is flushed by bench_peers.py)
    enqueue_noop()      enqueue one no-op job (sync, or a coroutine function for async-only systems)
    enqueue_started(t)  enqueue one job whose body calls ``mark(t)`` first
    enqueue_insert(i)   optional (systems with Django): enqueue one job whose body is ``insert_row(i)``
    flush()             optional: wait for writes the enqueues left in the background
    count_done()        how many jobs have a stored successful result
    run_worker(args)    run one worker in this process, forever

run.py imports a driver by name and runs one subcommand, each printing one JSON line:

    prefill N KIND reset, then enqueue a "begin" marker, N jobs of KIND (noop or insert; timed), an
                   "end" marker
    check N M GAP  wait for N + 2 stored results, then start latency: M jobs one at a time
    rows N         wait until the insert jobs have written N rows (or 60 s)
    worker ARGS    run the worker
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import json
import os
import random
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
MARKS = "bench:started"  # the list each marker job pushes "<token> <time.time()> <worker CPU s>" onto
WORKER_PID = "BENCH_WORKER_PID"  # set by the worker subcommand; its forks and pool processes inherit it
_client: Any = None


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU of a process, of its children that it waited for and of its live descendants
    (a prefork pool, a forked job), from /proc."""
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")
            for task in Path(f"/proc/{current}/task").iterdir():
                todo.extend(int(child) for child in (task / "children").read_text().split())
        except OSError:
            continue  # gone meanwhile
    return total


def _marker(token: str) -> str:
    """What a marker job pushes: its start time, and for the drain's begin and end markers the
    worker's CPU then (read in the job, not when the driver gets round to it on a loaded machine)."""
    started = time.time()
    cpu = tree_cpu_seconds(int(os.environ[WORKER_PID])) if token in ("begin", "end") else -1.0
    return f"{token} {started!r} {cpu!r}"


def mark(token: str) -> None:
    """Called first by a marker job's body: when it started, for the driver to read."""
    global _client
    if _client is None:
        import redis

        _client = redis.Redis.from_url(REDIS_URL)
    _client.rpush(MARKS, _marker(token))


async def amark(redis: Any, token: str) -> None:
    """``mark`` for async job bodies, on the worker's own asyncio Redis client."""
    await redis.rpush(MARKS, _marker(token))


def database() -> dict[str, Any]:
    """The database bench_peers.py created for this system: PostgreSQL, or SQLite (WAL) by path."""
    name = os.environ["BENCH_DB_NAME"]
    if os.environ.get("BENCH_DB", "postgres") == "sqlite":
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": name,
            "CONN_MAX_AGE": 600,
            "OPTIONS": {"init_command": "PRAGMA journal_mode=WAL;"},
        }
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": name,
        "USER": "postgres",
        "HOST": "127.0.0.1",
        "PORT": "5432",
        "CONN_MAX_AGE": 600,
    }


def django_settings(apps: list[str], **extra: Any) -> dict[str, Any]:
    """DEBUG off, persistent connections, the system's apps and ``peer_rows`` (the insert job's table)."""
    return {
        "DEBUG": False,
        "SECRET_KEY": "bench-only",
        "USE_TZ": True,
        "TIME_ZONE": "UTC",
        "DEFAULT_AUTO_FIELD": "django.db.models.BigAutoField",
        "INSTALLED_APPS": ["django.contrib.contenttypes", "django.contrib.auth", "peer_rows", *apps],
        "DATABASES": {"default": database()},
        "LOGGING_CONFIG": None,
        **extra,
    }


def setup(settings_dict: dict[str, Any]) -> dict[str, Any]:
    """Configure and set up Django when a driver module is imported, before its tasks are made."""
    import django
    from django.conf import settings

    if not settings.configured:
        settings.configure(**settings_dict)
        django.setup()
    return settings_dict


def truncate(*models: Any) -> None:
    """Empty tables (TRUNCATE on PostgreSQL: deleted rows piling up would slow later rounds)."""
    from django.core.management.color import no_style
    from django.db import connection

    with connection.cursor() as cursor:
        for sql in connection.ops.sql_flush(no_style(), [m._meta.db_table for m in models]):
            cursor.execute(sql)


def insert_row(value: int) -> None:
    """The body of the one-ORM-insert job of the systems whose jobs are plain functions."""
    from peer_rows.models import Row

    Row.objects.create(value=value)


async def ainsert_row(value: int) -> None:
    """``insert_row`` for async job bodies: Django's async ORM call."""
    from peer_rows.models import Row

    await Row.objects.acreate(value=value)


def count_rows() -> int:
    from peer_rows.models import Row

    return Row.objects.count()


_loop: asyncio.AbstractEventLoop | None = None


def call(fn: Any, *args: Any) -> Any:
    """Call a driver function; coroutine functions on one event loop kept for the whole process."""
    global _loop
    if not inspect.iscoroutinefunction(fn):
        return fn(*args)
    if _loop is None:
        _loop = asyncio.new_event_loop()
    return _loop.run_until_complete(fn(*args))


async def _maybe_await(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


def prefill(driver: ModuleType, n: int, kind: str) -> dict[str, Any]:
    """Enqueue begin, N jobs of ``kind`` (sequentially, timed, background writes flushed), end."""
    call(driver.reset)
    if driver.SETTINGS is not None:
        from peer_rows.models import Row

        truncate(Row)
    flush = getattr(driver, "flush", lambda: None)
    enqueue = driver.enqueue_noop if kind == "noop" else driver.enqueue_insert

    async def run() -> float:  # one event loop for the async-only systems
        await _maybe_await(driver.enqueue_started("begin"))
        await _maybe_await(flush())
        await asyncio.sleep(0.005)  # a later enqueue time: arq orders jobs by it, to the millisecond
        started = time.perf_counter()
        for i in range(n):
            await _maybe_await(enqueue(i) if kind == "insert" else enqueue())
        await _maybe_await(flush())
        elapsed = time.perf_counter() - started
        await asyncio.sleep(0.005)
        await _maybe_await(driver.enqueue_started("end"))
        await _maybe_await(flush())
        return elapsed

    if inspect.iscoroutinefunction(enqueue):
        elapsed = call(run)
    else:  # a plain loop: no event loop around the sync calls of sync systems
        driver.enqueue_started("begin")
        flush()
        time.sleep(0.005)
        started = time.perf_counter()
        for i in range(n):
            if kind == "insert":
                enqueue(i)
            else:
                enqueue()
        flush()
        elapsed = time.perf_counter() - started
        time.sleep(0.005)
        driver.enqueue_started("end")
        flush()
    return {"enqueue_us": elapsed / n * 1e6, "async": inspect.iscoroutinefunction(enqueue)}


def check(driver: ModuleType, n: int, m: int, gap: float) -> dict[str, Any]:
    """Wait until N + 2 results are stored; then M start latencies, one job at a time.

    The jobs are ``gap`` seconds apart at most (uniformly at random), so that they reach a polling
    worker at any point of its poll interval; one job first, not counted, warms the connections.
    """
    import redis

    deadline, done = time.monotonic() + 60, -1
    while time.monotonic() < deadline:
        done = call(driver.count_done)
        if done >= n + 2:
            break
        time.sleep(0.2)
    client = redis.Redis.from_url(REDIS_URL)
    client.delete(MARKS)
    latencies, errors, pick = [], [], random.Random(3).uniform
    for i in range(-1, m):
        token = f"lat{i}"
        sent = time.time()
        call(driver.enqueue_started, token)
        popped = client.blpop([MARKS], timeout=30)
        if popped is None:
            errors.append(f"latency job {i}: not started within 30 s")
            break
        got, at, _ = popped[1].decode().split()
        if got != token:
            errors.append(f"latency job {i}: got marker {got}")
        elif i >= 0:
            latencies.append((float(at) - sent) * 1000)
        time.sleep(pick(0.01, gap))
    return {"done": done, "latency_ms": latencies, "errors": errors}


def rows(n: int) -> dict[str, Any]:
    """Wait until the insert jobs have written N rows, for a minute at most."""
    deadline, count = time.monotonic() + 60, count_rows()
    while count < n and time.monotonic() < deadline:
        time.sleep(0.2)
        count = count_rows()
    return {"rows": count}


def main(name: str, argv: list[str]) -> None:
    driver = importlib.import_module(name)  # sets Django up, for the systems that use it
    command, args = argv[0], argv[1:]
    if command == "migrate":
        from django.core.management import call_command

        call_command("migrate", verbosity=0, run_syncdb=True)  # peer_rows has no migrations
        print(json.dumps({"ok": True}))
    elif command == "prefill":
        print(json.dumps(prefill(driver, int(args[0]), args[1])))
    elif command == "check":
        print(json.dumps(check(driver, int(args[0]), int(args[1]), float(args[2]))))
    elif command == "rows":
        print(json.dumps(rows(int(args[0]))))
    elif command == "worker":
        os.environ[WORKER_PID] = str(os.getpid())
        driver.run_worker(args)
    else:
        sys.exit(f"unknown subcommand {command!r}")
