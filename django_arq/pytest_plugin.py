"""pytest support for projects that use django-arq: the ``arq_records`` fixture.

Records of jobs enqueued outside a transaction (in async code, or in a test marked
``django_db(transaction=True)``) are written by a background thread a few milliseconds after the
enqueue returns. A test that reads them waits for them first; ``arq_records`` does that, and after
the test it waits for every record the test handed over, failing the test if they are not written
in time. A test without database access (no ``django_db`` mark) that leaves records fails at once,
and its records are dropped; a test in a transaction that is rolled back (``django_db`` without
``transaction=True``) whose records the writer committed fails, and they are deleted after it. So
no test leaves records behind for the next one, and none are written after the last test: records
still pending at the end of the run are dropped.

Enable the plugin in the project's top-level ``conftest.py``::

    pytest_plugins = ["django_arq.pytest_plugin"]

or run pytest with ``-p django_arq.pytest_plugin`` (``addopts`` in its configuration). Then::

    @pytest.mark.django_db(transaction=True)
    def test_signup_sends_welcome_mail(client, arq_records):
        client.post("/signup/", {"email": "a@example.com"})
        arq_records.flush()
        assert JobRecord.objects.filter(name="myapp.jobs.send_welcome").exists()

    @pytest.mark.django_db(transaction=True)
    async def test_async_view(async_client, arq_records):
        await async_client.post("/api/report/")
        await arq_records.aflush()
        ...

To wait after every test without naming the fixture, add to ``conftest.py``::

    @pytest.fixture(autouse=True)
    def _arq_records(arq_records):
        return arq_records
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from functools import partial
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from typing import Any

    from .audit.writer import Written

__all__ = ["ArqRecords", "arq_records"]


class ArqRecords:
    """Waits for the JobRecords handed to this process's background writer."""

    def __init__(self, timeout: float = 10.0) -> None:
        self.timeout = timeout

    def _message(self, timeout: float) -> str:
        return f"django-arq's background record writer did not write its records within {timeout:g}s"

    def flush(self, timeout: float | None = None) -> None:
        """Return once every record handed over so far is written; fail the test after ``timeout`` s."""
        from .audit.writer import flush_records

        _fail_without_database()
        timeout = self.timeout if timeout is None else timeout
        assert flush_records(timeout), self._message(timeout)

    async def aflush(self, timeout: float | None = None) -> None:
        """``flush`` for async tests (waits in a thread, not on the event loop)."""
        from .audit.on_commit import aflush_records

        _fail_without_database()
        timeout = self.timeout if timeout is None else timeout
        assert await aflush_records(timeout), self._message(timeout)


def _fail_without_database() -> None:
    """Fail the test at once if records wait for a database pytest-django does not let it use;
    they are dropped, so that they do not fail the next test too."""
    from .audit.writer import writer

    if writer.pending() and _database_blocked():
        dropped = writer.discard()
        pytest.fail(
            f"{dropped} job record(s) wait for django-arq's background record writer, but this test "
            "has no database access (pytest-django blocks it); they were dropped. Mark the test "
            "@pytest.mark.django_db (transaction=True for async code, whose records the writer "
            "writes outside the test's transaction)",
            pytrace=False,
        )


def _database_blocked() -> bool:
    """Whether pytest-django blocks database access now (a test without the ``django_db`` mark)."""
    from django.db.backends.base.base import BaseDatabaseWrapper

    try:
        from pytest_django.plugin import DjangoDbBlocker
    except ImportError:
        return False
    ensure = BaseDatabaseWrapper.ensure_connection
    return getattr(ensure, "__func__", None) is DjangoDbBlocker._blocking_wrapper


@pytest.fixture
def arq_records(request: pytest.FixtureRequest) -> Iterator[ArqRecords]:
    """Wait for JobRecords in a test (``flush``/``aflush``); after the test, wait for all of them,
    and fail the test if the writer committed any outside the test's transaction."""
    from .audit.writer import writer

    if "_django_db_helper" in request.fixturenames:  # pytest-django's, behind django_db and ``db``
        request.getfixturevalue("_django_db_helper")  # its transaction then outlasts this teardown
    records = ArqRecords()
    noted: list[Written] = []
    writer.noted = noted
    try:
        yield records
        records.flush()
    finally:
        writer.noted = None
    _fail_on_leaks(request, noted)


def _fail_on_leaks(request: pytest.FixtureRequest, noted: list[Written]) -> None:
    """Fail the test if the writer committed records while the test ran in a transaction that is
    rolled back (``django_db`` without ``transaction=True``): later tests would see them. They are
    deleted once the test's transaction is over."""
    from django.db import connections

    leaked = [row for row in noted if connections[row[0]].in_atomic_block]
    if not leaked:
        return
    request.node.stash[_CLEANUP] = partial(_delete, leaked, request.getfixturevalue("django_db_blocker"))
    pytest.fail(
        f"django-arq's background record writer committed {len(leaked)} job record(s) outside this "
        "test's transaction, which is rolled back (django_db without transaction=True): later tests "
        "would see them, so they are deleted. The writer writes the records of async code (and of "
        "threads other than the test's); mark the test @pytest.mark.django_db(transaction=True) "
        "(a Django TestCase: make it a TransactionTestCase)",
        pytrace=False,
    )


_CLEANUP = pytest.StashKey[Callable[[], None]]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Iterator[None]:
    """After the test's fixtures (its transaction rolled back), delete the records it leaked."""
    try:
        return (yield)
    finally:
        cleanup = item.stash.get(_CLEANUP, None)
        if cleanup is not None:
            cleanup()


def _delete(rows: list[Written], blocker: Any) -> None:
    """Delete records (database, alias, job id), with pytest-django's ``blocker`` letting the
    database in, in a thread of their own: its connections commit even if the test's connection is
    still in a transaction (a ``TestCase`` class's)."""
    from django.db import connections

    from .models import JobRecord

    errors: list[Exception] = []

    def delete() -> None:
        try:
            for using, alias in {row[:2] for row in rows}:
                ids = [job_id for db, of, job_id in rows if (db, of) == (using, alias)]
                JobRecord.objects.using(using).filter(alias=alias, job_id__in=ids).delete()
        except Exception as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=delete, name="django-arq-leaked-records")
    with blocker.unblock():
        thread.start()
        thread.join(10)
    if thread.is_alive() or errors:
        why = f"{errors[0]!r}" if errors else "the deletion did not end within 10s"
        raise RuntimeError(f"could not delete the job records the test leaked: {why}")


_DROPPED = pytest.StashKey[int]()


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Drop the records still pending: none is written after the last test (nor at exit, where
    the test database may never have existed and the real one is configured again)."""
    module = sys.modules.get("django_arq.audit.writer")
    dropped = module.writer.discard() if module is not None else 0
    if dropped:
        session.config.stash[_DROPPED] = dropped


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    """Say how many records were dropped at the end of the run."""
    dropped = config.stash.get(_DROPPED, 0)
    if dropped:
        terminalreporter.write_line(
            f"django-arq: dropped {dropped} job record(s) still pending at the end of the test run",
            yellow=True,
        )
