"""Operator actions: a forgotten job's note keeps the record's error; lossy kwargs are never retried."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import redis

from django_arq.admin.actions import Outcome, retry_records
from django_arq.audit.state import FORGOTTEN, apply_state
from django_arq.models import JobRecord

pytestmark = pytest.mark.django_db


def test_marking_a_forgotten_job_keeps_its_error(make_record: Callable[..., JobRecord]) -> None:
    traceback = "Traceback (most recent call last):\n  ...\nValueError: boom"
    record = make_record(status="complete", success=False, error=traceback)
    assert apply_state(record, None, mark_forgotten=True) == ["status", "error"]
    assert (record.status, record.error) == ("not_found", traceback)


def test_marking_a_forgotten_job_without_an_error_notes_why(make_record: Callable[..., JobRecord]) -> None:
    record = make_record(status="queued")
    assert apply_state(record, None, mark_forgotten=True) == ["status", "error"]
    assert (record.status, record.error) == ("not_found", FORGOTTEN)


def test_a_forgotten_job_is_left_as_it_is_unless_marked(make_record: Callable[..., JobRecord]) -> None:
    record = make_record(status="queued", error="")
    assert apply_state(record, None) == []
    assert (record.status, record.error) == ("queued", "")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"when": {"repr": "<object at 0x1>"}},
        {"items": [1, {"repr": "<object at 0x2>"}]},
        {"outer": {"inner": {"repr": "<object at 0x3>"}}},
    ],
    ids=["top level", "in a list", "nested"],
)
def test_retrying_a_forgotten_job_with_lossy_kwargs_reports_it_and_enqueues_nothing(
    make_record: Callable[..., JobRecord], queue_name: str, redis_client: redis.Redis, kwargs: dict[str, Any]
) -> None:
    record = make_record(
        name="tests.jobs.echo",
        args=[1],
        kwargs=kwargs,
        status="complete",
        success=True,
        queue_name=queue_name,
    )
    (report,) = retry_records([record])
    assert report.outcome is Outcome.lossy
    assert redis_client.zcard(queue_name) == 0
    assert not JobRecord.objects.filter(retry_of=record).exists()


def test_retrying_a_forgotten_job_with_exact_kwargs_enqueues_them(
    make_record: Callable[..., JobRecord], queue_name: str, redis_client: redis.Redis
) -> None:
    """The counterpart: the check looks at kwargs without refusing plain ones."""
    record = make_record(
        name="tests.jobs.echo", args=[1], kwargs={"k": {"a": [1, "x"]}}, status="complete", success=True,
        queue_name=queue_name,
    )  # fmt: skip
    (report,) = retry_records([record])
    assert report.outcome is Outcome.retried, report.detail
    assert redis_client.zcard(queue_name) == 1
    assert JobRecord.objects.get(retry_of=record).job_id == report.detail
