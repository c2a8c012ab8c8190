"""A job's tries in the admin (list and page) and in ``arq_job``: the one status line of
``try_status``, and each failed try's short error (escaped)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from django_arq.audit.tries import try_status
from django_arq.models import JobRecord

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/django_arq/jobrecord/"
XSS = "<script>alert('x')</script>"


@pytest.fixture
def retrying(make_record: Callable[..., JobRecord]) -> JobRecord:
    now = timezone.now()
    return make_record(
        status="deferred",
        job_try=2,
        next_try_at=now + timedelta(seconds=90),
        try_errors=[
            {
                "try": 1,
                "error": "ConnectionError: down",
                "time": (now - timedelta(seconds=9)).isoformat(),
                "lost": False,
            },
            {"try": 2, "error": f"OSError: {XSS}", "time": now.isoformat(), "lost": True},
        ],
    )


def expected_statuses(record: JobRecord) -> set[str]:
    """The time alone on the day the next try runs, with its date once the day has turned (the
    next try is 90 s away: a run just before midnight)."""
    assert record.next_try_at is not None
    local = timezone.localtime(record.next_try_at)
    return {f"retrying, try 3 of 5, next at {local:{clock}}" for clock in ("%H:%M:%S", "%Y-%m-%d %H:%M:%S")}


def test_list_and_page_show_the_try_status(superuser_client: Client, retrying: JobRecord) -> None:
    statuses = expected_statuses(retrying)
    listing = superuser_client.get(CHANGELIST).content.decode()
    assert any(f'<span class="arq-quiet arq-tries">{status}</span>' in listing for status in statuses)
    page = superuser_client.get(
        reverse("admin:django_arq_jobrecord_change", args=[retrying.pk])
    ).content.decode()
    assert any(status in page for status in statuses)
    assert "<code>ConnectionError: down</code>" in page
    assert "OSError: &lt;script&gt;" in page and XSS not in page
    assert "(lost)" in page


def test_a_job_on_its_only_try_shows_no_try_status(
    superuser_client: Client, make_record: Callable[..., JobRecord]
) -> None:
    make_record(status="in_progress", job_try=1)
    assert "arq-tries" not in superuser_client.get(CHANGELIST).content.decode()


def test_arq_job_shows_the_same_status(retrying: JobRecord) -> None:
    out = StringIO()
    call_command("arq_job", retrying.job_id, "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert data["try_status"] in expected_statuses(retrying)
    assert [e["try"] for e in data["try_errors"]] == [1, 2]
    text = StringIO()
    call_command("arq_job", retrying.job_id, stdout=text)
    assert "try_status:" in text.getvalue() and data["try_status"] in text.getvalue()


def test_a_job_put_back_at_once_says_so(make_record: Callable[..., JobRecord]) -> None:
    """A lost worker's job (``audit.lost``) is queued again with no wait: no "next at"."""
    lost = make_record(status="queued", job_try=1, error="worker w1 lost, re-queued as try 2")
    assert try_status(lost) == "re-queued, try 2 of 5"
    assert try_status(make_record(status="queued", job_try=0)) == ""


def test_try_errors_edited_by_hand_never_break_the_page(
    superuser_client: Client, make_record: Callable[..., JobRecord]
) -> None:
    record = make_record(
        status="deferred",
        job_try=4,
        try_errors=[
            {"try": 1, "error": "naive", "time": "2026-12-01T10:00:00"},  # no offset
            {"try": 2, "error": "early", "time": "0001-01-01T00:00:00+14:00"},  # before year 1 in UTC
            {"try": 3, "error": "late", "time": "9999-12-31T23:59:59-14:00"},  # after year 9999 in UTC
            {"try": 4, "error": "no time", "time": 5},
            "not an entry",
        ],
    )
    response = superuser_client.get(reverse("admin:django_arq_jobrecord_change", args=[record.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    for error in ("naive", "early", "late", "no time"):
        assert f"at -: <code>{error}</code>" in page
