"""The schedules' admin: validation messages, next runs, enable/disable, Run now and its permission,
links to the fired jobs, and the settings' CRON_JOBS beside them; the arq_schedules command."""

from __future__ import annotations

import copy
import io
import json
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission, User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from django_arq import get_queue
from django_arq.admin.schedules import schedule_link
from django_arq.audit.writer import flush_records
from django_arq.models import JobRecord, Schedule
from django_arq.queues.mock import MockArqQueue
from django_arq.schedules import IntervalTiming, fire_due, schedule_problems

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:django_arq_schedule_changelist"
ADD = "admin:django_arq_schedule_add"


def _client(username: str, *perms: str, superuser: bool = False) -> Client:
    user = User.objects.create_user(username, password="pw", is_staff=True, is_superuser=superuser)
    for codename in perms:
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label="django_arq", codename=codename)
        )
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def superuser() -> Client:
    return _client("root", superuser=True)


def form(**values: object) -> dict[str, object]:
    data: dict[str, object] = {
        "name": "nightly", "enabled": "on", "alias": "mock", "function": "tests.jobs.add",
        "args": "[1, 2]", "kwargs": "{}", "queue_name": "", "cron": "30 2 * * *", "interval": "",
        "time_zone": "Europe/Berlin", "catch_up": "last",
    }  # fmt: skip
    data.update(values)
    return data


MOCK_FUNCTIONS = {"mock": {**settings.ARQ_QUEUES["mock"], "WORKER": {"FUNCTIONS": ["tests.jobs.add"]}}}


@pytest.fixture(autouse=True)
def _mock_functions() -> object:
    queues = {**copy.deepcopy(settings.ARQ_QUEUES), **MOCK_FUNCTIONS}
    with override_settings(ARQ_QUEUES=queues):
        yield


def test_adding_a_schedule_computes_its_next_run(superuser: Client) -> None:
    # at 12:30, not the form's 02:30: Berlin has no 02:30 on the day it springs forward
    response = superuser.post(reverse(ADD), form(cron="30 12 * * *"))
    assert response.status_code == 302, response.content.decode()[:3000]
    schedule = Schedule.objects.get(name="nightly")
    assert schedule.next_run is not None and schedule.next_run > timezone.now()
    local = timezone.localtime(schedule.next_run, timezone.get_fixed_timezone(0))
    assert local.strftime("%M") == "30"
    page = superuser.get(reverse(CHANGELIST)).content.decode()
    assert "cron 30 12 * * * (Europe/Berlin)" in page
    assert timezone.localtime(schedule.next_run).strftime("%Y-%m-%d %H:%M:%S") in page


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"cron": "61 2 * * *"}, "cron", "Invalid cron expression &#x27;61 2 * * *&#x27;: Bad minute."),
        ({"cron": "30 2 * *"}, "cron", "A cron expression has 5 fields"),
        ({"cron": "", "interval": ""}, "cron", "Give a cron expression (e.g. 30 2 * * *) or an interval"),
        ({"interval": "5"}, "interval", "Give a cron expression or an interval, not both."),
        (
            {"function": "os.system"},
            "function",
            "&#x27;os.system&#x27; is not in ARQ_QUEUES[&#x27;mock&#x27;]",
        ),
        ({"alias": "nope"}, "alias", "No ARQ_QUEUES alias &#x27;nope&#x27;"),
        ({"time_zone": "Mars/Olympus"}, "time_zone", "Unknown time zone &#x27;Mars/Olympus&#x27;"),
        ({"args": '{"a": 1}'}, "args", "Positional arguments must be a JSON list"),
    ],
)
def test_invalid_schedules_are_refused_with_a_clear_message(
    superuser: Client, values: dict[str, str], field: str, message: str
) -> None:
    response = superuser.post(reverse(ADD), form(**values))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert field in response.context["adminform"].form.errors
    assert not Schedule.objects.exists()


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"args": "[NaN]"}, "args"),
        ({"args": "[1e400]"}, "args"),  # read as infinity
        ({"kwargs": '{"a": -Infinity}'}, "kwargs"),
        ({"args": '["a\\u0000b"]'}, "args"),  # PostgreSQL stores no NUL
        ({"kwargs": '{"\\ud800": 1}'}, "kwargs"),  # nor a lone surrogate
        ({"args": "[" + "9" * 5000 + "]"}, "args"),  # past Python's digits limit
        ({"args": "[" * 100_000 + "]" * 100_000}, "args"),  # past Python's recursion limit
    ],
)
def test_arguments_no_database_stores_are_refused_with_a_message(
    superuser: Client, values: dict[str, str], field: str
) -> None:
    response = superuser.post(reverse(ADD), form(**values))
    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert not Schedule.objects.exists()


def test_editing_the_timing_in_the_admin_changes_the_next_run(superuser: Client) -> None:
    superuser.post(reverse(ADD), form(cron="", interval="3600"))
    schedule = Schedule.objects.get()
    url = reverse("admin:django_arq_schedule_change", args=[schedule.pk])
    assert superuser.post(url, form(cron="", interval="7")).status_code == 302
    schedule.refresh_from_db()
    # the next run of the new timing (the same instant as the old one's, at a top of an hour that is
    # a multiple of 7 s)
    assert schedule.next_run == IntervalTiming(7).after(schedule.updated_at)
    assert schedule.next_run - timezone.now() <= timedelta(seconds=7)


def test_enable_and_disable_actions(superuser: Client) -> None:
    superuser.post(reverse(ADD), form())
    schedule = Schedule.objects.get()
    data = {"action": "disable_schedules", "_selected_action": [schedule.pk]}
    superuser.post(reverse(CHANGELIST), data)
    schedule.refresh_from_db()
    assert not schedule.enabled and schedule.next_run is None
    superuser.post(reverse(CHANGELIST), {**data, "action": "enable_schedules"})
    schedule.refresh_from_db()
    assert schedule.enabled and schedule.next_run is not None


def test_run_now_enqueues_through_the_exactly_once_path(superuser: Client, mock: MockArqQueue) -> None:
    superuser.post(reverse(ADD), form())
    schedule = Schedule.objects.get()
    response = superuser.post(
        reverse(CHANGELIST), {"action": "run_now", "_selected_action": [schedule.pk]}, follow=True
    )
    [job] = mock.jobs()
    assert job.id.startswith(f"schedule:{schedule.pk}:now:") and (job.name, job.args) == (
        "tests.jobs.add",
        (1, 2),
    )
    assert f"enqueued as job {job.id}" in response.content.decode()
    schedule.refresh_from_db()
    assert schedule.last_job_id == job.id
    page = superuser.get(reverse("admin:django_arq_schedule_change", args=[schedule.pk])).content.decode()
    jobs = reverse("admin:django_arq_jobrecord_changelist")
    assert f"{jobs}?job_id__startswith=schedule%3A{schedule.pk}%3A" in page
    assert f"{jobs}?job_id=schedule%3A{schedule.pk}%3Anow%3A" in page


def test_run_now_needs_the_operate_permission(mock: MockArqQueue) -> None:
    editor = _client("editor", "view_schedule", "change_schedule")
    schedule = Schedule.objects.create(name="s", alias="mock", function="tests.jobs.add", interval=60)
    editor.post(reverse(CHANGELIST), {"action": "run_now", "_selected_action": [schedule.pk]})
    assert mock.jobs() == []
    page = editor.get(reverse(CHANGELIST)).content.decode()
    assert "disable_schedules" in page and "run_now" not in page
    operator = _client("operator", "view_schedule", "operate_jobrecord")
    operator.post(reverse(CHANGELIST), {"action": "run_now", "_selected_action": [schedule.pk]})
    assert len(mock.jobs()) == 1


def test_the_fired_jobs_list_filters_by_the_schedules_prefix(superuser: Client, mock: MockArqQueue) -> None:
    schedule = Schedule.objects.create(
        name="s", alias="mock", function="tests.jobs.add", args=[1, 1], interval=60
    )
    get_queue("mock").enqueue_sync("tests.jobs.add", 1, 1, _job_id="unrelated-job")
    get_queue("mock").enqueue_sync("tests.jobs.add", 1, 1, _job_id=f"{schedule.job_id_prefix}123")
    assert flush_records(10)
    response = superuser.get(
        reverse("admin:django_arq_jobrecord_changelist"), {"job_id__startswith": schedule.job_id_prefix}
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert f"{schedule.job_id_prefix}123" in page and "unrelated-job" not in page


def test_settings_cron_jobs_are_listed_read_only(superuser: Client) -> None:
    queues = copy.deepcopy(settings.ARQ_QUEUES)
    queues["mock"]["WORKER"]["CRON_JOBS"] = [
        {"FUNCTION": "tests.jobs.add", "HOUR": 3, "MINUTE": 15},
        "tests.nowhere.cron_job",
    ]
    with override_settings(ARQ_QUEUES=queues):
        page = superuser.get(reverse(CHANGELIST)).content.decode()
        out = io.StringIO()
        call_command("arq_schedules", "--json", stdout=out)
    assert "Cron jobs from settings" in page
    assert "cron:tests.jobs.add" in page and "hour=3 minute=15 second=0" in page
    assert "No module named" in page  # the unreadable entry says why
    cron_jobs = json.loads(out.getvalue())["cron_jobs"]
    good = next(job for job in cron_jobs if job["name"] == "cron:tests.jobs.add")
    assert good["next_run"] is not None and "03:15:00" in good["next_run"]


def test_arq_schedules_lists_next_runs_as_text_and_json() -> None:
    Schedule.objects.create(name="every-minute", alias="mock", function="tests.jobs.add", interval=60)
    Schedule.objects.create(
        name="off", alias="mock", function="tests.jobs.add", cron="0 3 * * *", enabled=False
    )
    out = io.StringIO()
    call_command("arq_schedules", "--json", "--alias", "mock", stdout=out)
    rows = {row["name"]: row for row in json.loads(out.getvalue())["schedules"]}
    assert rows["every-minute"]["when"] == "every 60 s" and rows["every-minute"]["next_run"].endswith(
        ":00+00:00"
    )
    assert rows["off"]["enabled"] is False and rows["off"]["next_run"] is None
    text = io.StringIO()
    call_command("arq_schedules", stdout=text)
    lines = text.getvalue().splitlines()
    assert any(
        line.startswith("every-minute [mock] tests.jobs.add: every 60 s; enabled; next 20") for line in lines
    )
    assert any(
        line.startswith("off [mock] tests.jobs.add: cron 0 3 * * *") and "disabled" in line for line in lines
    )
    with pytest.raises(CommandError, match="ARQ_QUEUES has no alias 'nope'"):
        call_command("arq_schedules", "--alias", "nope", stdout=io.StringIO())


def test_arq_schedules_prints_a_hand_written_name_on_one_line_as_it_reads() -> None:
    Schedule.objects.create(
        name="nightly\n\x1b[2Jforged [mock] x\u202eevil",
        alias="mock",
        function="tests.jobs.add\r",
        interval=60,
    )
    out = io.StringIO()
    call_command("arq_schedules", "--alias", "mock", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines == [
        "nightly  [2Jforged [mock] x evil [mock] tests.jobs.add : every 60 s; enabled; next "
        + lines[0].split("; next ", 1)[1]
    ]
    assert "\x1b" not in out.getvalue() and "\u202e" not in out.getvalue()


def test_a_fired_job_links_back_to_its_schedule() -> None:
    schedule = Schedule.objects.create(
        name="nightly <b>", alias="mock", function="tests.jobs.add", interval=60
    )
    link = schedule_link(f"{schedule.job_id_prefix}1780315200")
    url = reverse("admin:django_arq_schedule_change", args=[schedule.pk])
    assert link == f'<a href="{url}">nightly &lt;b&gt;</a>'
    assert schedule_link("a0b1c2") is None
    assert schedule_link(f"schedule:{schedule.pk + 1}:now:1") == f"schedule #{schedule.pk + 1} (deleted)"


@given(
    values=st.fixed_dictionaries(
        {},
        optional={
            "alias": st.text(max_size=10),
            "function": st.text(max_size=20),
            "cron": st.text(max_size=20),
            "interval": st.one_of(
                st.none(), st.integers(-5, 10**6), st.integers(min_value=-(10**20), max_value=10**20)
            ),
            "time_zone": st.text(max_size=20),
            "args": st.one_of(st.lists(st.integers()), st.dictionaries(st.text(max_size=3), st.integers())),
            "kwargs": st.one_of(st.lists(st.integers()), st.dictionaries(st.text(max_size=3), st.integers())),
        },
    )
)
@hypothesis_settings(max_examples=150, deadline=None)
def test_any_schedule_fields_get_sentences_never_an_exception(values: dict[str, object]) -> None:
    problems = schedule_problems(values)
    assert all(isinstance(p, str) and p.endswith(".") for p in problems.values())
    assert set(problems) <= {"alias", "function", "cron", "interval", "time_zone", "args", "kwargs"}


def test_the_job_page_links_to_the_schedule_that_fired_it(superuser: Client, mock: MockArqQueue) -> None:
    schedule = Schedule.objects.create(
        name="hourly", alias="mock", function="tests.jobs.add", args=[1, 1], cron="0 * * * *"
    )
    fired = fire_due("mock", now=timezone.now() + timedelta(hours=1))
    assert flush_records(10)
    record = JobRecord.objects.get(job_id=fired.enqueued[0])
    page = superuser.get(reverse("admin:django_arq_jobrecord_change", args=[record.pk])).content.decode()
    url = reverse("admin:django_arq_schedule_change", args=[schedule.pk])
    assert f'<a href="{url}">hourly</a>' in page
