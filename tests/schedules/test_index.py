"""The workers' poll reads the schedules through the partial index of enabled schedules."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection

from django_arq.models import Schedule
from django_arq.schedules.firing import due_schedules

pytestmark = pytest.mark.django_db


def test_the_due_query_uses_the_index() -> None:
    for i in range(20):
        Schedule.objects.create(name=f"s{i}", function="tests.jobs.add", interval=60 + i, enabled=i % 2 == 0)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # a table this small is read whole unless told not to
            cursor.execute("SET LOCAL enable_seqscan = off")
    plan = due_schedules("default", datetime(2026, 1, 1, tzinfo=UTC)).explain()
    assert "django_arq_schedule_due_idx" in plan, plan
