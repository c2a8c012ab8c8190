"""fire_due on the in-memory backend: what a test does before run_queued, and the firing rules
on real rows (exactly once, catch-up, edits, bad rows) with a fake clock."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from django_arq.audit.writer import flush_records
from django_arq.models import JobRecord, Schedule
from django_arq.queues.mock import MockArqQueue
from django_arq.schedules import fire_due, refresh_next_run, run_now

pytestmark = pytest.mark.django_db(transaction=True)

T0 = datetime(2026, 6, 1, 12, 0, 0, tzinfo=UTC)


def make(name: str = "tick", **fields: object) -> Schedule:
    values: dict[str, object] = {
        "alias": "mock",
        "function": "tests.jobs.add",
        "args": [1, 2],
        "interval": 60,
    }
    values.update(fields)
    schedule = Schedule.objects.create(name=name, **values)
    Schedule.objects.filter(pk=schedule.pk).update(updated_at=T0 - timedelta(seconds=1))
    schedule.refresh_from_db()
    return schedule


def ids(mock: MockArqQueue) -> list[str]:
    return sorted(m.id for m in mock.jobs())


async def test_fire_due_then_run_queued_runs_the_schedules_job(mock: MockArqQueue) -> None:
    schedule = await sync_to_async(make)(kwargs={}, args=[20, 22])
    firing = await sync_to_async(fire_due)("mock", now=T0 + timedelta(seconds=5))
    assert firing.enqueued == [f"schedule:{schedule.pk}:{int(T0.timestamp())}"]
    results = await mock.run_queued()
    assert [(r.id, r.result, r.success) for r in results] == [(firing.enqueued[0], 42, True)]


def test_each_slot_is_enqueued_once_however_often_fire_due_runs(mock: MockArqQueue) -> None:
    schedule = make()
    for seconds in (0, 1, 30, 59):
        fire_due("mock", now=T0 + timedelta(seconds=seconds))
    # another process that read the row before it moved on: its enqueue is refused, nothing doubles
    Schedule.objects.filter(pk=schedule.pk).update(next_run=T0, last_run=None)
    again = fire_due("mock", now=T0 + timedelta(seconds=59))
    assert again.enqueued == [] and again.taken == [f"schedule:{schedule.pk}:{int(T0.timestamp())}"]
    fire_due("mock", now=T0 + timedelta(seconds=61))
    assert ids(mock) == [
        f"schedule:{schedule.pk}:{int((T0 + timedelta(seconds=s)).timestamp())}" for s in (0, 60)
    ]
    schedule.refresh_from_db()
    assert schedule.last_run == T0 + timedelta(seconds=60)
    assert schedule.next_run == T0 + timedelta(seconds=120)
    assert schedule.last_job_id == ids(mock)[-1]
    assert flush_records(10)
    assert set(JobRecord.objects.filter(alias="mock").values_list("job_id", flat=True)) == set(ids(mock))


@pytest.mark.parametrize(("catch_up", "fired_minutes"), [("last", [50]), ("skip", [])])
def test_catch_up_after_downtime_follows_the_policy(
    mock: MockArqQueue, catch_up: str, fired_minutes: list[int]
) -> None:
    schedule = make(catch_up=catch_up)
    firing = fire_due("mock", now=T0 + timedelta(minutes=50, seconds=30))  # 50 slots were due
    assert firing.enqueued == [
        f"schedule:{schedule.pk}:{int((T0 + timedelta(minutes=m)).timestamp())}" for m in fired_minutes
    ]
    schedule.refresh_from_db()
    assert schedule.next_run == T0 + timedelta(minutes=51)


def test_an_edit_of_the_timing_takes_effect_at_the_next_poll(mock: MockArqQueue) -> None:
    schedule = make(interval=3600)
    fire_due("mock", now=T0)
    schedule.refresh_from_db()
    assert schedule.next_run == T0 + timedelta(hours=1)
    schedule.interval = 10
    schedule.save()
    assert schedule.next_run is None
    firing = fire_due("mock", now=T0 + timedelta(seconds=5))
    schedule.refresh_from_db()
    assert schedule.next_run == T0 + timedelta(seconds=10)
    assert firing.next_due == T0 + timedelta(seconds=10)
    assert firing.enqueued == []  # slot 0 was the last run; nothing due between the edit and now


def test_saving_an_old_form_does_not_roll_back_what_a_worker_fired(mock: MockArqQueue) -> None:
    make(interval=60)
    stale = Schedule.objects.get(name="tick")
    fire_due("mock", now=T0 + timedelta(seconds=1))
    stale.args = [5, 5]
    stale.save()
    fresh = Schedule.objects.get(name="tick")
    assert (fresh.args, fresh.last_run, fresh.next_run) == ([5, 5], T0, T0 + timedelta(minutes=1))


def test_disabled_schedules_do_not_fire_and_re_enabling_starts_from_then(mock: MockArqQueue) -> None:
    schedule = make(enabled=False)
    assert fire_due("mock", now=T0 + timedelta(hours=2)).enqueued == []
    schedule.enabled = True
    schedule.save()
    assert refresh_next_run(schedule) is not None and schedule.next_run > T0 + timedelta(hours=2)


def test_a_bad_row_is_reported_and_does_not_block_the_others(mock: MockArqQueue) -> None:
    good = make("good")
    make("bad-args", args={"not": "a list"})
    make("bad-cron", interval=None, cron="0 0 * * *")
    Schedule.objects.filter(name="bad-cron").update(cron="99 * * * *", next_run=T0)
    firing = fire_due("mock", now=T0 + timedelta(seconds=1))
    assert firing.enqueued == [f"schedule:{good.pk}:{int(T0.timestamp())}"]
    assert set(firing.errors) == {"bad-args", "bad-cron"}
    assert "Bad minute" in firing.errors["bad-cron"]


def test_rows_that_fail_in_any_other_way_are_reported_and_the_later_ones_still_fire(
    mock: MockArqQueue,
) -> None:
    """A TypeError (kwargs naming the enqueue's own options) or a ValueError (an interval whose next
    slot no date can hold) once stopped every schedule read after it, on every poll."""
    from django.db import connection

    make("taken-id", kwargs={"_job_id": "mine"})
    make("taken-queue", kwargs={"_queue_name": "elsewhere"})
    bad = {"taken-id", "taken-queue"}
    if connection.vendor == "sqlite":  # the only database whose interval column holds such a number
        make("eons", interval=60)
        Schedule.objects.filter(name="eons").update(interval=10**12)
        bad.add("eons")
    Schedule.objects.exclude(name="good").update(next_run=T0 - timedelta(minutes=5))
    good = make("good")
    firing = fire_due("mock", now=T0 + timedelta(seconds=1))
    assert firing.enqueued == [f"schedule:{good.pk}:{int(T0.timestamp())}"]
    assert set(firing.errors) == bad
    assert "multiple values for keyword argument '_job_id'" in firing.errors["taken-id"]
    if "eons" in bad:
        assert "at most 2147483647 seconds" in firing.errors["eons"]


def test_a_function_its_alias_refuses_is_one_error_line_and_the_others_fire(
    mock: MockArqQueue, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """A row written by code naming a function outside FUNCTIONS, on an alias whose
    ``UNKNOWN_FUNCTIONS`` is "error": reported like a bad timing, without a traceback per poll."""
    settings.ARQ_QUEUES = {
        **settings.ARQ_QUEUES,
        "mock": {
            **settings.ARQ_QUEUES["mock"],
            "UNKNOWN_FUNCTIONS": "error",
            "WORKER": {"FUNCTIONS": ["tests.jobs.add"]},
        },
    }
    make("unknown", function="tests.jobs.nowhere")
    good = make("good")
    with caplog.at_level(logging.ERROR, logger="django_arq"):
        firing = fire_due("mock", now=T0 + timedelta(seconds=1))
    assert firing.enqueued == [f"schedule:{good.pk}:{int(T0.timestamp())}"]
    assert set(firing.errors) == {"unknown"}
    assert (
        "'tests.jobs.nowhere' is not in ARQ_QUEUES['mock']['WORKER']['FUNCTIONS']" in firing.errors["unknown"]
    )
    [logged] = [r for r in caplog.records if "unknown" in r.getMessage()]
    assert logged.exc_info is None


def test_run_now_uses_its_own_id_once_per_second(mock: MockArqQueue) -> None:
    schedule = make()
    job_id, enqueued = run_now(schedule)
    assert enqueued and job_id.startswith(schedule.job_id_prefix + "now:")
    again_id, again = run_now(schedule)
    assert (again_id == job_id and not again) or (again_id != job_id and again)
    schedule.refresh_from_db()
    assert schedule.last_job_id == again_id
    assert schedule.next_run is None or schedule.next_run >= T0  # the slots are untouched


def test_a_refreshed_schedule_saved_unchanged_keeps_its_next_run(mock: MockArqQueue) -> None:
    schedule = make(interval=60)
    other = Schedule.objects.get(pk=schedule.pk)
    other.interval = 30
    other.save()
    refresh_next_run(other)
    schedule.refresh_from_db()  # now holds the new timing: saving it is no edit of the timing
    schedule.name = "renamed"
    schedule.save()
    assert Schedule.objects.get(pk=schedule.pk).next_run == other.next_run is not None


def test_a_database_error_is_raised_for_the_poller_not_taken_for_a_bad_row(
    mock: MockArqQueue, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The poller reconnects on it; caught as a row's fault, it was logged once per row per poll."""
    from django.db import OperationalError

    from django_arq.schedules import firing

    make("good")

    def down(*args: object) -> None:
        raise OperationalError("the server closed the connection")

    monkeypatch.setattr(firing, "_fire_one", down)
    with pytest.raises(OperationalError):
        fire_due("mock", now=T0 + timedelta(seconds=1))
