"""Fixtures for the audit layer and worker tests: a private queue name per test, cleaned up after."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from typing import cast

import pytest
import redis
from asgiref.sync import SyncToAsync
from django.db import connection, connections

from django_arq import get_queue
from django_arq.audit.queue import AuditedQueue
from django_arq.audit.writer import writer
from tests.helpers import ROOT, Process, wait_for


@pytest.fixture
def queue_name(redis_client: redis.Redis) -> Iterator[str]:
    """A queue no other test (nor the shared plain arq workers) reads; its jobs are deleted afterwards."""
    name = f"django-arq-tests:worker:{uuid.uuid4().hex[:12]}"
    yield name
    ids = [i.decode() for i in cast(list[bytes], redis_client.zrange(name, 0, -1))]
    keys = [f"arq:{kind}:{i}" for i in ids for kind in ("job", "result", "retry", "in-progress")]
    redis_client.delete(name, *keys)


@pytest.fixture(autouse=True, scope="session")
def _close_executor_connections(django_db_setup: None) -> Iterator[None]:
    """Close the connection the async ORM opened in asgiref's thread, so the test database can be dropped."""
    yield
    SyncToAsync.single_thread_executor.submit(connections.close_all).result()
    writer.stop()


class WorkerRunner:
    """Starts ``manage.py arq_worker`` as a real subprocess on the test database and a private queue."""

    def __init__(self, queue_name: str) -> None:
        self.queue_name = queue_name
        self.processes: list[Process] = []

    def env(self) -> dict[str, str]:
        return {
            "PYTHONPATH": str(ROOT),
            "DJANGO_SETTINGS_MODULE": "tests.worker.settings",
            "DJANGO_ARQ_WORKER_DB_NAME": str(connection.settings_dict["NAME"]),
        }

    def args(self, *extra: str) -> list[str]:
        return [sys.executable, "-m", "django", "arq_worker", "--queue", self.queue_name, *extra]

    def burst(self, *extra: str, timeout: float = 60) -> str:
        """Run the queued jobs and exit; the worker's output."""
        done = subprocess.run(
            self.args("--burst", *extra), env={**os.environ, **self.env()}, cwd=ROOT,
            capture_output=True, text=True, timeout=timeout, check=False,
        )  # fmt: skip
        output = done.stdout + done.stderr
        assert done.returncode == 0, output
        return output

    def start(self, *extra: str) -> Process:
        """A worker running until stopped; returns once it polls the queue."""
        process = Process(self.args(*extra), env=self.env())
        self.processes.append(process)
        wait_for(lambda: "Starting worker" in process.output() or process.proc.poll() is not None, timeout=30)
        assert process.proc.poll() is None, process.output()
        return process


@pytest.fixture
def workers(queue_name: str) -> Iterator[WorkerRunner]:
    runner = WorkerRunner(queue_name)
    yield runner
    for process in runner.processes:
        process.kill()


def audited(alias: str = "default") -> AuditedQueue:
    """``get_queue(alias)``, known to be wrapped by the audit layer."""
    queue = get_queue(alias)
    assert isinstance(queue, AuditedQueue)
    return queue
