"""The attempt log's values (``queues.attempts``) in-process: ids, keys, entries as stored and read
back, the entry a worker hands a job through its ctx, and the one taken back from Redis."""

from __future__ import annotations

import json
import os
import socket
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
import redis

from django_arq.queues.attempts import (
    CTX_KEY,
    LOGGED_PREFIX,
    attempts_key,
    drop_logged,
    encode_entry,
    is_logged,
    logged_job_id,
    new_entry,
    parse_attempts,
    take_logged,
    worker_id,
)
from django_arq.queues.drivers import run_sync


def test_a_logged_job_id_is_the_prefix_and_a_fresh_uuid4_hex() -> None:
    first, second = logged_job_id(), logged_job_id()
    assert first.startswith(LOGGED_PREFIX) and second.startswith(LOGGED_PREFIX)
    assert uuid.UUID(hex=first.removeprefix(LOGGED_PREFIX)).version == 4
    assert first != second
    assert is_logged(first)


def test_only_ids_that_start_with_the_prefix_are_logged() -> None:
    assert is_logged(LOGGED_PREFIX + "x")
    assert not is_logged("x" + LOGGED_PREFIX)
    assert not is_logged(uuid.uuid4().hex)


def test_the_key_of_a_log_is_its_prefix_and_the_job_id() -> None:
    assert attempts_key("job-1") == "django-arq:task-attempts:job-1"


def test_the_worker_id_is_host_and_pid() -> None:
    assert worker_id() == f"{socket.gethostname()}:{os.getpid()}"


def test_a_new_entry_is_this_worker_now_in_utc() -> None:
    before = datetime.now(UTC)
    entry = new_entry()
    assert set(entry) == {"worker_id", "at"}
    assert entry["worker_id"] == worker_id()
    assert entry["at"].utcoffset() == timedelta(0)
    assert before <= entry["at"] <= datetime.now(UTC)


def test_an_entry_is_stored_as_json_with_an_iso_time_and_read_back_unchanged() -> None:
    at = datetime(2026, 3, 1, 12, 30, 5, 123456, tzinfo=timezone(timedelta(hours=2)))
    stored = encode_entry({"worker_id": "host:12", "at": at, "other": 1})
    assert json.loads(stored) == {"worker_id": "host:12", "at": "2026-03-01T12:30:05.123456+02:00"}
    older = encode_entry({"worker_id": "host:11", "at": at - timedelta(days=1)})
    assert parse_attempts([older.encode(), stored]) == [
        {"worker_id": "host:11", "at": at - timedelta(days=1)},
        {"worker_id": "host:12", "at": at},
    ]
    assert parse_attempts([]) == []


def test_a_logged_attempt_is_taken_once_by_its_own_job() -> None:
    entry = {"worker_id": "host:1", "at": datetime.now(UTC)}
    ctx = {CTX_KEY: {"job-1": entry, "job-2": {}}}
    assert take_logged(ctx, "job-3") is None
    assert take_logged(ctx, "job-1") is entry
    assert take_logged(ctx, "job-1") is None
    assert ctx[CTX_KEY] == {"job-2": {}}
    assert take_logged({}, "job-1") is None  # a worker that logs no attempts


@pytest.fixture
def log_key(redis_client: redis.Redis) -> Iterator[tuple[str, str]]:
    job_id = f"{LOGGED_PREFIX}{uuid.uuid4().hex}"
    yield job_id, attempts_key(job_id)
    redis_client.delete(attempts_key(job_id))


def test_dropping_a_logged_attempt_removes_the_last_entry_only(
    redis_client: redis.Redis, log_key: tuple[str, str], redis_url: str
) -> None:
    job_id, key = log_key
    redis_client.rpush(key, "first", "claimed")
    assert run_sync(drop_logged(job_id), redis_client, redis_url) is None
    assert redis_client.lrange(key, 0, -1) == [b"first"]
