"""Edits of the schedules are announced to the workers, and a firer that hears them sleeps until
the earliest next run instead of looking every poll."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
import redis
from asgiref.sync import sync_to_async
from django.db import transaction
from django.utils import timezone

from django_arq.models import Schedule
from django_arq.queues.mock import MockArqQueue
from django_arq.schedules.changes import RECHECK_INTERVAL, announce, schedules_channel
from django_arq.schedules.firing import until_next_run
from django_arq.schedules.runner import ScheduleFirer
from tests.helpers import async_wait_for, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_save_and_a_delete_are_announced_once_committed(redis_client: redis.Redis) -> None:
    channel = schedules_channel("default")
    pubsub = redis_client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(channel)
    try:
        heard: list[object] = []

        def listen() -> bool:
            message = pubsub.get_message(timeout=0.1)
            if message is not None:
                heard.append(message["channel"])
            return bool(heard)

        with transaction.atomic():
            schedule = Schedule.objects.create(name="s", function="tests.jobs.add", args=[1, 2], interval=60)
            assert pubsub.get_message(timeout=0.3) is None  # not before the commit
        wait_for(listen, timeout=10)
        assert heard == [channel.encode()]
        heard.clear()
        schedule.delete()
        wait_for(listen, timeout=10)
        assert heard == [channel.encode()]
    finally:
        pubsub.close()


def test_an_announcement_that_fails_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    announce("no-such-alias")
    assert "edit of the schedules of alias 'no-such-alias' not announced" in caplog.text


def test_until_next_run() -> None:
    now = timezone.now()
    assert until_next_run("default", now, RECHECK_INTERVAL) == RECHECK_INTERVAL  # none
    schedule = Schedule.objects.create(name="s", function="tests.jobs.add", interval=60)
    assert until_next_run("default", now, RECHECK_INTERVAL) == timedelta(0)  # next run not computed yet
    Schedule.objects.filter(pk=schedule.pk).update(next_run=now + timedelta(seconds=20))
    assert until_next_run("default", now, RECHECK_INTERVAL) == timedelta(seconds=20)
    assert until_next_run("default", now, timedelta(seconds=5)) == timedelta(seconds=5)
    Schedule.objects.filter(pk=schedule.pk).update(next_run=now - timedelta(seconds=20))
    assert until_next_run("default", now, RECHECK_INTERVAL) == timedelta(0)
    Schedule.objects.filter(pk=schedule.pk).update(enabled=False)
    assert until_next_run("default", now, RECHECK_INTERVAL) == RECHECK_INTERVAL
    assert until_next_run("mock", now, RECHECK_INTERVAL) == RECHECK_INTERVAL  # another alias's


async def test_a_hearing_firer_sleeps_until_an_edit(mock: MockArqQueue) -> None:
    edits, hearing = asyncio.Event(), asyncio.Event()
    hearing.set()
    firer = ScheduleFirer("mock", poll=0.02, edits=edits, hearing=hearing)
    firer.start()
    try:
        await async_wait_for(lambda: firer.polls >= 1, timeout=20)
        await asyncio.sleep(0.5)  # a firer looking every poll would look some 25 times
        assert firer.polls == 1
        await sync_to_async(Schedule.objects.create)(
            name="s", alias="mock", function="tests.jobs.add", args=[1, 2], interval=1
        )
        edits.set()  # what the worker's wake-up subscription does on an announcement
        await async_wait_for(lambda: len(mock.jobs()) >= 1, timeout=20)
        assert firer.polls >= 2
    finally:
        await firer.stop()


async def test_a_firer_that_cannot_hear_looks_every_poll(mock: MockArqQueue) -> None:
    edits, hearing = asyncio.Event(), asyncio.Event()  # the subscription is down
    firer = ScheduleFirer("mock", poll=0.02, edits=edits, hearing=hearing)
    firer.start()
    try:
        await async_wait_for(lambda: firer.polls >= 5, timeout=20)
    finally:
        await firer.stop()
