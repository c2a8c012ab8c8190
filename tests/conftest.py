"""Shared fixtures: real Redis, real arq workers, both queue backends."""

from __future__ import annotations

import contextlib
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


#: A time zone hours off UTC (no daylight saving time): a time stored at the wrong instant shows.
LOCAL_ZONE = "Asia/Tokyo"


@contextlib.contextmanager
def time_settings(**overrides: Any) -> Iterator[None]:
    """``override_settings`` of ``USE_TZ`` or ``TIME_ZONE``, whose connections do not outlive it.

    Django brings the calling thread's connections up to date when such a setting changes, not
    those of other threads (the one ``sync_to_async`` runs in, a recorder's): a PostgreSQL
    connection one of them opened meanwhile would keep reading times as the override said. Those
    are closed afterwards (their thread reconnects under the settings of its next use), but for the
    background record writer's: its thread may be writing at any moment (closing a connection in
    use crashes SQLite), and it sends aware times and reads none, whatever the settings."""
    from django.test.utils import override_settings

    opened: list[Any] = []

    def note(sender: Any, connection: Any, **kwargs: Any) -> None:
        opened.append(connection)

    connection_created.connect(note, weak=False)
    try:
        with override_settings(**overrides):
            yield
    finally:
        connection_created.disconnect(note)
        writers = {t.ident for t in threading.enumerate() if t.name == "django-arq-records"}
        for connection in opened:
            if connection._thread_ident in writers:
                continue
            connection.inc_thread_sharing()
            try:
                connection.close()
            finally:
                connection.dec_thread_sharing()
            for cached in ("timezone", "timezone_name"):
                connection.__dict__.pop(cached, None)


def stored_instant(table: str, column: str, pk: object, using: str = "default") -> Any:
    """The instant a row's time column holds, read apart from Django's conversions: PostgreSQL's
    value in UTC; SQLite's naive text as a time in ``LOCAL_ZONE``, as Django means it under
    ``USE_TZ = False``."""
    import datetime as dt
    import zoneinfo

    connection = connections[using]
    postgresql = connection.vendor == "postgresql"
    selected = f"{column} AT TIME ZONE 'UTC'" if postgresql else column
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {selected} FROM {table} WHERE id = %s", [pk])  # noqa: S608
        (value,) = cursor.fetchone()
    assert value.tzinfo is None, value
    return value.replace(tzinfo=dt.UTC if postgresql else zoneinfo.ZoneInfo(LOCAL_ZONE))


@pytest.fixture
def without_use_tz() -> Iterator[None]:
    """``USE_TZ = False`` (Django stores naive times in ``TIME_ZONE``), in ``LOCAL_ZONE``."""
    with time_settings(USE_TZ=False, TIME_ZONE=LOCAL_ZONE):
        yield
