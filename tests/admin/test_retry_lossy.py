"""retry_records on jobs Redis forgot: recorded arguments that may have changed type are not re-sent;
apply_state(mark_forgotten=True) keeps an error text a record already has."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis

from django_arq import get_queue
from django_arq.admin.actions import Outcome, lossy_value, retry_records
from django_arq.audit.state import FORGOTTEN, apply_state
from django_arq.models import JobRecord

pytestmark = pytest.mark.django_db

#: What ``jsonable`` records for values JSON cannot hold (datetime, date, time, Decimal, UUID,
#: exceptions, objects, non-string keys), each in args and in kwargs.
LOSSY = [
    "2026-01-02T03:04:05+00:00",
    "2026-01-02",
    "12:30:00",
    "1.50",
    "7",
    "12345678-1234-5678-1234-567812345678",
    {"repr": "<object at 0x1>"},
    {"exception": "builtins.ValueError", "message": "x"},
    {"1": "int key"},
    {"null": "None key"},
    {"(1, 2)": "tuple key"},
    [{"nested": ["Infinity"]}],
]
EXACT = ["hello", "<b>", 2, 1.5, None, True, {"k": [1, "a b"]}, "2026 was a year", "v1.2"]


@pytest.fixture
def queue_name(redis_client: redis.Redis) -> Iterator[str]:
    name = f"django-arq-tests:retry-{uuid.uuid4().hex}"
    yield name
    ids = [i.decode() for i in redis_client.zrange(name, 0, -1)]
    if ids:
        redis_client.delete(*[f"arq:job:{i}" for i in ids])
    redis_client.delete(name)


@pytest.mark.parametrize("value", LOSSY, ids=repr)
@pytest.mark.parametrize("where", ["args", "kwargs"])
def test_retry_of_a_forgotten_job_with_lossy_arguments_is_refused(
    make_record: Callable[..., JobRecord], redis_client: redis.Redis, queue_name: str, where: str, value: Any
) -> None:
    payload = (
        {"args": ["fine", value], "kwargs": {}} if where == "args" else {"args": [], "kwargs": {"k": value}}
    )
    record = make_record(
        name="tests.jobs.echo", status="complete", success=True, queue_name=queue_name, **payload
    )
    (report,) = retry_records([record])
    assert report.outcome is Outcome.lossy
    assert report.detail.startswith(where)
    assert "may have been" in report.detail or "stand-in" in report.detail
    assert redis_client.zcard(queue_name) == 0
    assert not JobRecord.objects.filter(retry_of=record).exists()


def test_retry_of_a_forgotten_job_with_exact_arguments_is_sent_as_recorded(
    make_record: Callable[..., JobRecord], queue_name: str
) -> None:
    record = make_record(
        name="tests.jobs.echo", args=EXACT, kwargs={"k": EXACT}, status="complete", success=True,
        queue_name=queue_name,
    )  # fmt: skip
    (report,) = retry_records([record])
    assert report.outcome is Outcome.retried
    meta = get_queue().get_job_metadata_sync(report.detail, queue_name)
    assert (meta.args, meta.kwargs) == (tuple(EXACT), {"k": EXACT})
    assert JobRecord.objects.get(job_id=report.detail).retry_of == record


@pytest.mark.parametrize(
    "payload", [{"args": {"a": 1}}, {"args": "ab"}, {"kwargs": [["a", 1]]}, {"kwargs": "k"}], ids=repr
)
def test_retry_of_a_forgotten_job_whose_arguments_are_not_a_list_and_an_object_is_refused(
    make_record: Callable[..., JobRecord], redis_client: redis.Redis, queue_name: str, payload: dict[str, Any]
) -> None:
    """A record written by hand: a dict's keys or a string's letters are not the job's arguments."""
    record = make_record(
        name="tests.jobs.echo", status="complete", success=True, queue_name=queue_name, **payload
    )
    (report,) = retry_records([record])
    assert report.outcome is Outcome.lossy
    assert report.detail == "args must be a JSON list and kwargs a JSON object"
    assert redis_client.zcard(queue_name) == 0


def test_lossy_value_names_where_and_why() -> None:
    assert lossy_value(EXACT) is None
    assert lossy_value({"a": {"b": ["2026-01-02"]}}, "kwargs") == (
        "kwargs['a']['b'][0] is '2026-01-02', which may have been a date, time or UUID"
    )


def test_apply_state_marks_a_forgotten_job_and_keeps_its_error(make_record: Callable[..., JobRecord]) -> None:
    with_error = make_record(status="in_progress", error="Traceback: boom")
    assert apply_state(with_error, None, mark_forgotten=True) == ["status", "error"]
    assert (with_error.status, with_error.error) == ("not_found", "Traceback: boom")
    without = make_record(status="queued")
    apply_state(without, None, mark_forgotten=True)
    assert (without.status, without.error) == ("not_found", FORGOTTEN)
    untouched = make_record(status="queued")
    assert apply_state(untouched, None) == []
    assert untouched.status == "queued"
