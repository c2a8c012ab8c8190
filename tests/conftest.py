"""Shared fixtures: real Redis, real arq workers, both queue backends."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from django.conf import settings
from django.db import connections
from django.db.backends.signals import connection_created
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from tests.helpers import Process, start_arq_worker

# Hypothesis's timing checks measure the machine, not the code: the suite runs on busy machines and
# from fresh clones (where the first text drawn also collects the loaded modules' constants).
hypothesis_settings.register_profile(
    "django-arq", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
hypothesis_settings.load_profile("django-arq")


@pytest.fixture(scope="session")
def redis_url() -> str:
    url: str = settings.REDIS_URL
    client = redis.Redis.from_url(url)
    try:
        client.ping()
    except redis.ConnectionError as exc:  # fail loudly: a missing service is not a skip
        raise RuntimeError(f"the tests need Redis at {url}: {exc}") from exc
    finally:
        client.close()
    return url


@pytest.fixture(scope="session")
def arq_workers(redis_url: str) -> Iterator[dict[str, Process]]:
    """Plain arq workers (arq's CLI, no Django) on the test queue and on a second queue."""
    workers = {
        name: start_arq_worker(redis_url, name) for name in (settings.TEST_QUEUE, settings.TEST_OTHER_QUEUE)
    }
    yield workers
    for worker in workers.values():
        worker.stop()


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture(autouse=True)
def _records_written() -> Iterator[None]:
    """Records a test handed to the background writer are written before the next test starts."""
    yield
    from django_arq.audit.writer import flush_records

    assert flush_records(10), "the background record writer did not catch up"


@pytest.fixture(autouse=True)
def _no_connection_left_in_an_event_loop() -> Iterator[None]:
    """A test closes the connections it opened for the main thread's event-loop contexts.

    Under an event loop (an async test, Playwright's sync API in the browser tests) the main thread's
    connections live in context-local storage that later tests may share: one left open there
    outlives its test, and once test_database_outage has ended its session, the next test that
    uses it fails (AdminShutdown). The main thread's own connection (pytest-django's) may stay."""
    main = threading.get_ident()
    opened: list[Any] = []

    def note(sender: Any, connection: Any, **kwargs: Any) -> None:
        if connection._thread_ident == main:  # made in the main thread (opened in any)
            opened.append(connection)

    connection_created.connect(note, weak=False)
    yield
    connection_created.disconnect(note)
    own = {id(conn) for conn in connections.all(initialized_only=True)}
    left = [conn.alias for conn in opened if id(conn) not in own and conn.connection is not None]
    assert not left, f"connections left open in an event loop's context of the main thread: {left}"
