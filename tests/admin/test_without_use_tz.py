"""The admin with ``USE_TZ = False``: its pages show records and schedules by local date and time,
and its actions write their times as Django stores them there."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse

from django_arq import get_queue
from django_arq.models import JobRecord, Schedule
from tests.admin.test_actions import _finished, enqueue, run_action, texts
from tests.helpers import wait_for

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/django_arq/jobrecord/"


def test_pages_show_records_by_their_local_date(
    without_use_tz: None, superuser_client: Client, make_record: Callable[..., JobRecord]
) -> None:
    # 20:00 UTC on February 5 is 05:00 on February 6 in Tokyo
    evening = make_record(enqueue_time=dt.datetime(2026, 2, 5, 20, tzinfo=dt.UTC), status="complete")
    evening.refresh_from_db()
    assert evening.enqueue_time == dt.datetime(2026, 2, 5, 20, tzinfo=dt.UTC)
    day = {"enqueue_time__year": "2026", "enqueue_time__month": "2", "enqueue_time__day": "6"}
    response = superuser_client.get(CHANGELIST, day)
    assert [r.pk for r in response.context["cl"].result_list] == [evening.pk]
    next_try = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)
    retrying = make_record(status="deferred", job_try=1, next_try_at=next_try)
    schedule = Schedule.objects.create(name="tick", alias="default", function="tests.jobs.add", interval=60)
    Schedule.objects.filter(pk=schedule.pk).update(next_run=dt.datetime(2026, 2, 5, 20, tzinfo=dt.UTC))
    pages = [
        CHANGELIST,
        reverse("admin:django_arq_jobrecord_change", args=[evening.pk]),
        "/admin/django_arq/jobrecord/dashboard/",
        reverse("admin:django_arq_schedule_changelist"),
        reverse("admin:django_arq_schedule_change", args=[schedule.pk]),
    ]
    for page in pages:
        assert superuser_client.get(page).status_code == 200, page
    for page in (CHANGELIST, reverse("admin:django_arq_jobrecord_change", args=[retrying.pk])):
        assert "retrying, try 2 of 5" in superuser_client.get(page).content.decode(), page
    schedules = superuser_client.get(reverse("admin:django_arq_schedule_changelist")).content.decode()
    assert "2026-02-06 05:00:00" in schedules  # the next run, in local time


def test_refresh_and_abort_write_their_times(
    without_use_tz: None, superuser_client: Client, worker_queue: str, queue_name: str
) -> None:
    done = enqueue(worker_queue, "tests.jobs.add", 1, 2)  # a plain arq worker runs it, writes no record
    queue = get_queue()
    wait_for(lambda: _finished(queue, done), timeout=10)
    response = run_action(superuser_client, "refresh_jobs", done)
    assert f"Refreshed from Redis: tests.jobs.add [{done.job_id}]" in texts(response)
    done.refresh_from_db()
    result = queue.get_job_result_sync(done.job_id, worker_queue)
    assert (done.status, done.result, done.finish_time) == ("complete", 3, result.finish_time)

    waiting = enqueue(queue_name, "tests.jobs.add", 3, 4)  # no worker reads this queue
    before = dt.datetime.now(dt.UTC)
    run_action(superuser_client, "abort_jobs", waiting)
    waiting.refresh_from_db()
    assert waiting.abort_requested_at is not None
    assert before <= waiting.abort_requested_at <= dt.datetime.now(dt.UTC)
