"""Fixtures for the reliability suite: throwaway Redis servers, ``manage.py arq_worker`` processes
pointed at them, and a test database of its own (other suites may run at the same time)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis

from tests.helpers import RedisServer, redis_server
from tests.reliability.jobs import RUNS
from tests.worker.conftest import WorkerRunner, _close_executor_connections, queue_name

__all__ = ["_close_executor_connections", "queue_name"]

#: Producer-side options for a Redis that may be down: fail in well under a second.
FAST_FAIL = {"conn_timeout": 0.3, "conn_retries": 0}
#: Producer-side options for a Redis that stays up, on a machine that may be busy.
PATIENT = {"conn_timeout": 10, "conn_retries": 5}


class FaultWorkers(WorkerRunner):
    """``manage.py arq_worker`` on the reliability settings, on the given Redis."""

    def __init__(self, queue_name: str, redis_url: str, alias: str = "default") -> None:
        super().__init__(queue_name)
        self.redis_url = redis_url
        self.alias = alias

    def env(self) -> dict[str, str]:
        return {
            **super().env(),
            "DJANGO_SETTINGS_MODULE": "tests.reliability.settings",
            "DJANGO_ARQ_TEST_REDIS": self.redis_url,
        }

    def args(self, *extra: str) -> list[str]:
        return [*super().args(*extra), "--alias", self.alias]


@pytest.fixture
def server() -> Iterator[RedisServer]:
    """A throwaway Redis (no persistence) on a free loopback port."""
    with redis_server() as found:
        yield found


@pytest.fixture
def server_client(server: RedisServer) -> Iterator[redis.Redis]:
    client = redis.Redis(port=server.port)
    yield client
    client.close()


def point_aliases_at(url: str, settings: Any, options: dict[str, Any]) -> None:
    """Every Redis alias of this process (and a "json" alias, as the workers'
    tests.reliability.settings has) on ``url``, with these producer-side connection options."""
    default = settings.ARQ_QUEUES["default"]
    json_alias = {**default, "SERIALIZER": "json", "DEFAULT_QUEUE_NAME": "django-arq-tests:json"}
    aliases = {
        alias: {**raw, "REDIS_URL": url, "OPTIONS": options}
        for alias, raw in {**settings.ARQ_QUEUES, "json": json_alias}.items()
        if not raw["BACKEND"].endswith("MockArqQueue")
    }
    # through pytest-django's settings fixture, so that its other changes are undone in LIFO order
    settings.ARQ_QUEUES = {**settings.ARQ_QUEUES, **aliases}


@pytest.fixture
def on_server(server: RedisServer, settings: Any) -> str:
    """Every alias of this process points at the throwaway server, which stays up; yields its URL.
    The connect timeout is patient: a busy machine can take over a second to accept a connection."""
    point_aliases_at(server.url, settings, PATIENT)
    return server.url


@pytest.fixture
def on_failing_server(on_server: str, settings: Any) -> str:
    """``on_server`` for a test that stops the server: producers fail in well under a second."""
    point_aliases_at(on_server, settings, FAST_FAIL)
    return on_server


@pytest.fixture
def fault_workers(queue_name: str, on_server: str) -> Iterator[FaultWorkers]:
    runner = FaultWorkers(queue_name, on_server)
    yield runner
    for process in runner.processes:
        process.kill()


def runs(client: redis.Redis) -> dict[str, int]:
    """Job id -> how many times its body ran."""
    return {k.decode(): int(v) for k, v in client.hgetall(RUNS).items()}  # type: ignore[union-attr]
