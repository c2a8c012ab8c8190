"""Schedules with ``USE_TZ = False``: Django's clock and the rows' times are naive local times
there, the schedules' slots aware; each is fired once, at its instant, and stored as Django would."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.test import Client
from django.urls import reverse

from django_arq.models import Schedule
from django_arq.queues.mock import MockArqQueue
from django_arq.schedules import fire_due, refresh_next_run, run_now
from django_arq.schedules.firing import until_next_run
from django_arq.schedules.timing import slot_id
from tests.conftest import stored_instant
from tests.schedules.test_admin import ADD, _mock_functions, form, superuser

pytestmark = pytest.mark.django_db(transaction=True)

__all__ = ["_mock_functions", "superuser"]  # fixtures of the schedules' admin tests


def test_interval_and_cron_schedules_fire_each_slot_once_at_its_instant(
    without_use_tz: None, mock: MockArqQueue
) -> None:
    values = {"alias": "mock", "function": "tests.jobs.add", "args": [1, 2]}
    every_minute = Schedule.objects.create(name="minutely", interval=60, **values)
    # 9:00 in New York: 23:00 or 22:00 in Tokyo, 14:00 or 13:00 UTC
    nine = Schedule.objects.create(name="nine", cron="0 9 * * *", time_zone="America/New_York", **values)
    assert fire_due("mock").enqueued == []  # Django's clock (naive here): next runs computed, none due
    now = dt.datetime.now(dt.UTC)
    for schedule in (every_minute, nine):
        schedule.refresh_from_db()
        assert schedule.next_run is not None and now < schedule.next_run  # aware, however stored
        assert stored_instant("django_arq_schedule", "next_run", schedule.pk) == schedule.next_run
    slot = every_minute.next_run
    assert slot is not None and slot.second == 0 and slot - now <= dt.timedelta(seconds=60)
    ny = nine.next_run.astimezone(zoneinfo.ZoneInfo("America/New_York"))  # type: ignore[union-attr]
    assert (ny.hour, ny.minute) == (9, 0)
    assert until_next_run("mock", now, dt.timedelta(hours=1)) == slot - now

    fired = fire_due("mock", now=slot + dt.timedelta(seconds=1))
    assert fired.enqueued == [slot_id(every_minute.pk, slot)]
    assert fire_due("mock", now=slot + dt.timedelta(seconds=2)).enqueued == []  # once
    every_minute.refresh_from_db()
    assert (every_minute.last_run, every_minute.next_run) == (slot, slot + dt.timedelta(seconds=60))
    job_id, enqueued = run_now(every_minute)
    assert enqueued and sorted(m.id for m in mock.jobs()) == sorted([*fired.enqueued, job_id])


def test_a_schedule_saved_gets_its_next_run_at_once(without_use_tz: None, superuser: Client) -> None:
    """Django's ``auto_now`` clock is naive here; the saved instance's ``updated_at`` is not."""
    schedule = Schedule.objects.create(name="tick", alias="mock", function="tests.jobs.add", interval=60)
    next_run = refresh_next_run(schedule)
    assert next_run is not None and dt.datetime.now(dt.UTC) < next_run
    response = superuser.post(reverse(ADD), form(cron="30 12 * * *"))  # the admin computes it on save
    assert response.status_code == 302, response.content.decode()[:2000]
    added = Schedule.objects.get(name="nightly")
    assert added.next_run is not None and dt.datetime.now(dt.UTC) < added.next_run
