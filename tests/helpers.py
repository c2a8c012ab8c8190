"""Test helpers: real arq worker processes, throwaway Redis servers, waiting for conditions."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Process:
    """A child process whose output goes to a log file, stopped with SIGTERM (then SIGKILL)."""

    def __init__(self, args: list[str], env: dict[str, str] | None = None, cwd: Path = ROOT) -> None:
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - kept open for the child's lifetime
            "w+", prefix="django-arq-test-", suffix=".log", delete=False
        )
        full_env = {**os.environ, **(env or {})}
        self.proc = subprocess.Popen(args, env=full_env, cwd=cwd, stdout=self.log, stderr=subprocess.STDOUT)

    def output(self) -> str:
        return Path(self.log.name).read_text()

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def kill(self) -> None:
        self.stop(signal.SIGKILL)


def start_arq_worker(redis_url: str, queue_name: str) -> Process:
    """A real, plain arq worker (arq's own CLI) running tests.jobs on ``queue_name``."""
    env = {"ARQ_TEST_REDIS_URL": redis_url, "ARQ_TEST_QUEUE": queue_name, "PYTHONPATH": str(ROOT)}
    worker = Process([sys.executable, "-m", "arq", "tests.worker_settings.WorkerSettings"], env=env)
    wait_for(lambda: "Starting worker" in worker.output() or worker.proc.poll() is not None, timeout=20)
    if worker.proc.poll() is not None:
        raise RuntimeError(f"arq worker exited:\n{worker.output()}")
    return worker


def wait_for(condition: Callable[[], Any], timeout: float = 10, interval: float = 0.01) -> Any:
    """Poll ``condition`` until it is truthy; fail with AssertionError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)


async def async_wait_for(condition: Callable[[], Any], timeout: float = 10, interval: float = 0.01) -> Any:
    """Async ``wait_for``: ``condition`` may be a coroutine function."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)


class RedisServer:
    """A throwaway redis-server on a free loopback port, for fault tests (restart, kill)."""

    def __init__(self) -> None:
        if shutil.which("redis-server") is None:
            raise RuntimeError("redis-server is not installed; fault tests need it")
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="django-arq-redis-")
        self.process: Process | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        args = [
            "redis-server",
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ]
        self.process = Process([*args, "--dir", self.dir])
        wait_for(self._accepts, timeout=10)

    def _accepts(self) -> bool:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
            return True
        return False

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()


@contextlib.contextmanager
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.dir, ignore_errors=True)
