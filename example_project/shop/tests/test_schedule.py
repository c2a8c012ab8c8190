"""The demo's database schedule: created with the demo data, edited in the admin, fired at its new
times by the next poll (here ``fire_due``, which every ``arq_worker`` calls as it polls)."""

import datetime as dt
import io

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

    # The next poll fires nothing before noon Paris time, then exactly the noon slot, once.
    paris = dt.timezone(dt.timedelta(hours=1))  # a winter day: Paris is UTC+1
    fire_due("default", now=dt.datetime(2026, 12, 2, 11, 59, tzinfo=paris))
    assert queue.jobs() == []
    noon = dt.datetime(2026, 12, 2, 12, 0, 1, tzinfo=paris)
    fire_due("default", now=noon)
    fire_due("default", now=noon)  # a second worker's poll: refused, the slot is fired once
    (job,) = queue.jobs()
    assert job.name == "shop.jobs.take_sales_snapshot"
    assert job.id == f"schedule:{schedule.pk}:{int(noon.replace(second=0).timestamp())}"
