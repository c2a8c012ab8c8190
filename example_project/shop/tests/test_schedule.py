"""The demo's database schedule: created with the demo data, edited in the admin, fired at its new
times by the next poll (here ``fire_due``, which every ``arq_worker`` calls as it polls)."""

import datetime as dt
import io
import zoneinfo

import pytest
from django.core.management import call_command
from django.urls import reverse

from django_arq.models import Schedule
from django_arq.schedules import fire_due


@pytest.mark.django_db
def test_the_demo_schedule_edited_in_the_admin_fires_at_its_new_times(admin_client, queue):
    call_command("create_demo_data", stdout=io.StringIO())
    call_command("create_demo_data", stdout=io.StringIO())  # idempotent
    schedule = Schedule.objects.get(name="Sales snapshot")
    assert (schedule.cron, schedule.enabled) == ("*/5 * * * *", True)

    # An operator makes it fire at noon, Paris time, in the admin's change form.
    form = {
        "name": "Sales snapshot", "enabled": "on", "alias": "default",
        "function": "shop.jobs.take_sales_snapshot", "args": "[]", "kwargs": "{}", "queue_name": "",
        "cron": "0 12 * * *", "interval": "", "time_zone": "Europe/Paris", "catch_up": "last",
    }  # fmt: skip
    response = admin_client.post(reverse("admin:django_arq_schedule_change", args=[schedule.pk]), form)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert response.url == reverse("admin:django_arq_schedule_changelist")  # saved, not sent to log in

    # The next poll fires nothing before noon Paris time, then exactly the noon slot, once: the
    # first noon after the edit (the new timing's first slot), whatever day the test runs on.
    schedule.refresh_from_db()
    assert (schedule.cron, schedule.time_zone) == ("0 12 * * *", "Europe/Paris")
    paris = zoneinfo.ZoneInfo("Europe/Paris")
    edited = schedule.updated_at.astimezone(paris)
    day = edited.date() if edited.hour < 12 else edited.date() + dt.timedelta(days=1)
    noon = dt.datetime.combine(day, dt.time(12), tzinfo=paris)
    fire_due("default", now=noon - dt.timedelta(minutes=1))
    assert queue.jobs() == []
    fire_due("default", now=noon + dt.timedelta(seconds=1))
    fire_due("default", now=noon + dt.timedelta(seconds=1))  # a second worker's poll: refused, fired once
    (job,) = queue.jobs()
    assert job.name == "shop.jobs.take_sales_snapshot"
    assert job.id == f"schedule:{schedule.pk}:{int(noon.timestamp())}"
