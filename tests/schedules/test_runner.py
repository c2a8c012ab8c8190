"""ScheduleFirer, the task a worker runs: it fires on its own, rides out failed polls, stops cleanly."""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.db import OperationalError
from django.db.backends.signals import connection_created

from django_arq.models import Schedule
from django_arq.queues.mock import MockArqQueue
from django_arq.schedules import runner
from django_arq.schedules.runner import ScheduleFirer
from tests.helpers import async_wait_for

pytestmark = pytest.mark.django_db(transaction=True)


async def test_the_firer_fires_due_slots_and_stops(mock: MockArqQueue) -> None:
    schedule = await sync_to_async(Schedule.objects.create)(
        name="s", alias="mock", function="tests.jobs.add", args=[1, 2], interval=1
    )
    firer = ScheduleFirer("mock", poll=0.1)
    firer.start()
    try:
        await async_wait_for(lambda: len(mock.jobs()) >= 2, timeout=20)
    finally:
        await firer.stop()
    assert firer._task is not None and firer._task.done()
    slots = sorted(int(m.id.rsplit(":", 1)[1]) for m in mock.jobs())
    assert all(m.id.startswith(schedule.job_id_prefix) for m in mock.jobs())
    assert slots == list(range(slots[0], slots[0] + len(slots)))


async def test_a_failing_poll_is_logged_once_and_retried(
    mock: MockArqQueue, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    await sync_to_async(Schedule.objects.create)(
        name="s", alias="mock", function="tests.jobs.add", args=[1, 2], interval=1
    )
    real, failures = runner.fire_due, []

    def flaky(alias: str, **kwargs: Any) -> Any:
        if len(failures) < 3:
            failures.append(alias)
            raise OperationalError("the database is down")
        return real(alias, **kwargs)

    monkeypatch.setattr(runner, "fire_due", flaky)
    firer = ScheduleFirer("mock", poll=0.05)
    with caplog.at_level(logging.WARNING, logger="django_arq.schedules"):
        firer.start()
        try:
            await async_wait_for(lambda: mock.jobs() and len(caplog.records) >= 2, timeout=20)
        finally:
            await firer.stop()
    messages = [r.getMessage() for r in caplog.records]
    assert messages[0] == "schedules of alias 'mock' not fired: the database is down; retrying"
    assert messages[1] == "schedules of alias 'mock' fired again"
    assert len(failures) == 3 and len(messages) == 2


async def test_the_firer_keeps_its_database_connection_between_polls(mock: MockArqQueue) -> None:
    """With CONN_MAX_AGE 0 (the tests' setting), Django's check between requests closes a
    connection: the firer checks it only every CONNECTION_CHECK_INTERVAL, not at each poll."""
    opened: list[str] = []

    def created(sender: Any, connection: Any, **kwargs: Any) -> None:
        opened.append(threading.current_thread().name)

    connection_created.connect(created)
    firer = ScheduleFirer("mock", poll=0.02)
    firer.start()
    try:
        await async_wait_for(lambda: firer.polls >= 10, timeout=30)
    finally:
        await firer.stop()
        connection_created.disconnect(created)
    assert len([name for name in opened if name.startswith("django-arq-schedules")]) == 1, opened
