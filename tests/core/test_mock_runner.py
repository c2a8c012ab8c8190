"""MockArqQueue.run_queued with sync job functions: another thread, its database connection closed after."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.db import connection, connections
from django.db.backends.base.base import BaseDatabaseWrapper

from django_arq import MockArqQueue
from tests.helpers import wait_for

pytestmark = pytest.mark.django_db

USED: list[tuple[int, BaseDatabaseWrapper, Any]] = []


def uses_the_database(ctx: dict[str, Any]) -> int:
    """A sync job that queries the database; notes its thread, connection and backend id."""
    conn = connections["default"]
    with conn.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()" if conn.vendor == "postgresql" else "SELECT 1")
        (backend,) = cursor.fetchone()
    USED.append((threading.get_ident(), conn, backend))
    return int(ctx["job_try"])


def other_sessions() -> int:
    """Sessions on the test database other than this thread's (PostgreSQL)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        (count,) = cursor.fetchone()
    return int(count)


def test_sync_jobs_leave_no_database_connection_open() -> None:
    USED.clear()
    queue = MockArqQueue()
    before = other_sessions() if connection.vendor == "postgresql" else 0
    for _ in range(5):
        queue.enqueue_sync("job")
    results = async_to_sync(queue.run_queued)({"job": uses_the_database})
    assert [(r.success, r.result) for r in results] == [(True, 1)] * 5
    assert len(USED) == 5
    assert all(thread != threading.get_ident() for thread, _, _ in USED)  # not the caller's thread
    assert all(conn is not connection and conn.connection is None for _, conn, _ in USED)  # closed
    if connection.vendor == "postgresql":  # and the server agrees: no session left behind
        wait_for(lambda: other_sessions() == before, timeout=5)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)", [[b for *_, b in USED]]
            )
            assert cursor.fetchone() == (0,)
