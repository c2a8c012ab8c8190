"""The schedules' admin facing what its forms never let in: addresses written by hand, and rows
written by code or SQL (a timing, arguments or an alias it cannot use). Each gets a message or the
list back with ``?e=1``, never a server error, and one such row does not stop the others."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.test import Client, override_settings
from django.urls import reverse

from django_arq import get_queue
from django_arq.models import Schedule
from django_arq.queues.mock import MockArqQueue
from tests.helpers import free_port

from .test_admin import CHANGELIST, superuser

__all__ = ["superuser"]

pytestmark = pytest.mark.django_db


def schedule(name: str, **fields: Any) -> Schedule:
    values: dict[str, Any] = {"alias": "mock", "function": "tests.jobs.add", "args": [1, 2], "interval": 60}
    return Schedule.objects.create(name=name, **{**values, **fields})


def act(client: Client, action: str, *rows: Schedule) -> list[str]:
    """Run an action of the list on ``rows``; the messages it shows."""
    data = {"action": action, "_selected_action": [row.pk for row in rows]}
    response = client.post(reverse(CHANGELIST), data, follow=True)
    assert response.status_code == 200
    return [str(message) for message in response.context["messages"]]


@pytest.mark.parametrize(
    "query",
    [
        "name=a%00b",
        "queue_name=%00",
        "next_run__year=99999999999",
        "last_run__gte=9999-12-31T23:59:59%2B23:00",
    ],
)
def test_a_query_no_database_can_answer_goes_back_to_the_list(superuser: Client, query: str) -> None:
    schedule("s")
    url = reverse(CHANGELIST)
    response = superuser.get(f"{url}?{query}")
    assert response.status_code in (200, 302), response.status_code
    if response.status_code == 302:
        assert response["Location"] == f"{url}?e=1"
        assert superuser.get(response["Location"]).status_code == 200


def test_enabling_a_schedule_whose_timing_is_invalid_says_so_and_enables_the_others(
    superuser: Client,
) -> None:
    first, broken, last = (
        schedule("first", enabled=False),
        schedule("broken", enabled=False, interval=None, cron="not a cron"),
        schedule("last", enabled=False),
    )
    shown = act(superuser, "enable_schedules", first, broken, last)
    assert any("broken" in m and "not enabled" in m for m in shown), shown
    assert "Enabled 2 schedule(s)." in shown
    enabled = dict(Schedule.objects.values_list("name", "enabled"))
    assert enabled == {"first": True, "broken": False, "last": True}
    assert Schedule.objects.get(name="last").next_run is not None


def test_run_now_reports_each_schedule_it_cannot_enqueue_and_runs_the_others(superuser: Client) -> None:
    down = {"BACKEND": "django_arq.RedisArqQueue", "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}
    strict = {  # refuses a function its workers do not run
        "BACKEND": "django_arq.MockArqQueue",
        "UNKNOWN_FUNCTIONS": "error",
        "WORKER": {"FUNCTIONS": ["tests.jobs.add"]},
    }
    with override_settings(ARQ_QUEUES={**settings.ARQ_QUEUES, "down": down, "strict": strict}):
        rows = [
            schedule("dict-args", args={"a": 1}),
            schedule("list-kwargs", kwargs=[1]),
            schedule("no-such-alias", alias="gone"),
            schedule("redis-down", alias="down"),
            schedule("unknown-function", alias="strict", function="tests.jobs.nowhere"),
            schedule("fine", args=[3, 4]),
        ]
        shown = act(superuser, "run_now", *rows)
        mock = get_queue("mock").backend  # the one built for these settings
        assert isinstance(mock, MockArqQueue)
        jobs = mock.jobs()
    for name in ("dict-args", "list-kwargs", "no-such-alias", "redis-down", "unknown-function"):
        assert any(m.startswith(f"{name}: not enqueued (") for m in shown), (name, shown)
    [job] = jobs  # a dict's keys are not the job's arguments
    assert job.args == (3, 4) and job.id.startswith(f"schedule:{rows[-1].pk}:now:")
    assert any(m == f"fine: enqueued as job {job.id}" for m in shown), shown
