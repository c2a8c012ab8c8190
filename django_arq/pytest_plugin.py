"""pytest support for projects that use django-arq: the ``arq_records`` fixture.

Records of jobs enqueued outside a transaction (in async code, or in a test marked
``django_db(transaction=True)``) are written by a background thread a few milliseconds after the
enqueue returns. A test that reads them waits for them first; ``arq_records`` does that, and after
the test it waits for every record the test handed over, failing the test if they are not written
in time. So no test leaves records behind for the next one, and none are left at the end of the
run (records still pending when the test database is gone are dropped, never written elsewhere).

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

from collections.abc import Iterator

import pytest

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

        timeout = self.timeout if timeout is None else timeout
        assert flush_records(timeout), self._message(timeout)

    async def aflush(self, timeout: float | None = None) -> None:
        """``flush`` for async tests (waits in a thread, not on the event loop)."""
        from .audit.on_commit import aflush_records

        timeout = self.timeout if timeout is None else timeout
        assert await aflush_records(timeout), self._message(timeout)


@pytest.fixture
def arq_records() -> Iterator[ArqRecords]:
    """Wait for JobRecords in a test (``flush``/``aflush``); after the test, wait for all of them."""
    records = ArqRecords()
    yield records
    records.flush()
