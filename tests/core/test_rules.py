"""The rules every backend applies to what callers send: JSON tags, delays, queue names, job ids."""

from __future__ import annotations

import datetime as dt
import json
import math
import sys
import uuid
from decimal import Decimal

import pytest
import redis
from django.conf import settings

from django_arq import ArqJobError, ArqQueue, JobSpec, JobStatus, RedisArqQueue
from django_arq.queues.exceptions import InvalidJob
from django_arq.queues.jobs import (
    MAX_DELAY,
    OWN_KEY_PREFIX,
    check_queue_name,
    is_valid_job_id,
    reserved_key_owner,
)
from django_arq.queues.serializers import SerializedError, json_dumps, json_loads
from tests.helpers import ROOT, Process, redis_server, wait_for

#: Dicts a client may send that have the shape of the JSON serializer's tags.
TAG_SHAPED = [
    {"__bytes__": "PHNjcmlwdD4="},
    {"__exception__": {"type": "builtins.ValueError", "message": "x"}},
    {"__exception__": 1},
    {"__datetime__": "2026-01-01T00:00:00"},
    {"__date__": "2026-01-01"},
    {"__decimal__": "1.5"},
    {"__uuid__": "12345678123456781234567812345678"},
    {"__dict__": [["a", 1]]},
    {"__dict__": {"__bytes__": "eA=="}},
    {"outer": {"__bytes__": "eA=="}},
]


@pytest.mark.parametrize("value", TAG_SHAPED)
def test_json_serializer_keeps_tag_shaped_dicts_as_dicts(value: dict) -> None:
    payload = {"a": [value], "k": {"key": value}}
    assert json_loads(json_dumps(payload)) == payload
    assert json_loads(json_dumps(value)) == value  # the payload itself tag-shaped


def test_json_serializer_still_keeps_its_own_types() -> None:
    when = dt.datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=dt.UTC)
    payload = {"a": [when, when.date(), Decimal("1.50"), uuid.UUID(int=7), b"\x00\xff", {1, 2}], "k": {}}
    back = json_loads(json_dumps(payload))
    assert back["a"][:5] == payload["a"][:5] and back["a"][5] == [1, 2]
    error = json_loads(json_dumps({"e": ValueError("boom")}))["e"]
    assert isinstance(error, SerializedError) and (error.type_name, error.message) == (
        "builtins.ValueError",
        "boom",
    )


@pytest.mark.parametrize(
    "raw",
    [b'[{"__exception__": 1}]', b'[{"__bytes__": "!!"}]', b'[{"__decimal__": "x"}]', b'[{"__uuid__": []}]'],
)
def test_json_tags_that_do_not_decode_are_read_as_data(raw: bytes) -> None:
    """Payloads written before tag-shaped dicts were escaped stay readable, as the dicts they hold."""
    assert json_loads(raw) == json.loads(raw)


def test_a_plain_arq_worker_with_the_json_serializer_gets_tag_shaped_dicts_as_sent(redis_url: str) -> None:
    """Interop: a bare arq worker using the same serializer functions reads the escaped dicts."""
    name = f"{settings.TEST_QUEUE}:json-{uuid.uuid4().hex}"
    env = {"ARQ_TEST_REDIS_URL": redis_url, "ARQ_TEST_QUEUE": name, "PYTHONPATH": str(ROOT)}
    worker = Process([sys.executable, "-m", "arq", "tests.core.json_worker_settings.WorkerSettings"], env=env)
    queue = RedisArqQueue(redis_url, default_queue_name=name, serializer="json")
    try:
        when = dt.datetime(2026, 1, 2, tzinfo=dt.UTC)
        meta = queue.enqueue_sync("tests.jobs.echo", *TAG_SHAPED, when, b"raw", tag={"__bytes__": "eA=="})
        wait_for(lambda: queue.get_job_metadata_sync(meta.id).status is JobStatus.complete, timeout=30)
        result = queue.get_job_result_sync(meta.id)
        assert result.success, result.result
        assert result.result["args"] == [*TAG_SHAPED, when, b"raw"]
        assert result.result["kwargs"] == {"tag": {"__bytes__": "eA=="}}
        assert result.args == (*TAG_SHAPED, when, b"raw")
    finally:
        worker.stop()
        queue.close()


BAD_DELAYS = [1e306, 1e300, float("nan"), float("inf"), -float("inf"), -1, True, "10", MAX_DELAY * 2, 10**400]


@pytest.mark.parametrize("value", BAD_DELAYS, ids=repr)
@pytest.mark.parametrize("field", ["defer_by", "expires"])
def test_delays_out_of_range_are_refused_by_the_shared_rule(field: str, value: object) -> None:
    with pytest.raises(InvalidJob, match=f"_{field} must be") as info:
        JobSpec("tests.jobs.add", **{field: value})
    assert isinstance(info.value, ValueError) and isinstance(info.value, ArqJobError)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("value", [0, 0.5, 60, dt.timedelta(hours=1), MAX_DELAY, MAX_DELAY.total_seconds()])
def test_delays_in_range_are_accepted(value: object) -> None:
    spec = JobSpec("tests.jobs.add", defer_by=value)
    score, ttl = spec.schedule(1_000)
    assert score >= 1_000 and ttl >= 1


@pytest.mark.parametrize(
    "name",
    [
        "arq:abort",
        "arq:job:x",
        "arq:result:x",
        "arq:in-progress:x",
        "arq:retry:x",
        "q:health-check",
        "django-arq:workers:q",
        "django-arq:progress:x",
        "",
        "\ud800",
    ],
)
def test_queue_names_that_are_arq_keys_or_not_text_are_refused(name: str) -> None:
    with pytest.raises(InvalidJob):
        check_queue_name(name)
    with pytest.raises(InvalidJob):
        JobSpec("tests.jobs.add", queue_name=name)


def test_every_key_django_arq_keeps_is_under_its_own_prefix() -> None:
    """What ``check_queue_name`` refuses covers them all: no queue can write into one."""
    from django_arq.queues import attempts, heartbeats, progress, wakeup
    from django_arq.schedules import changes

    prefixes = [
        attempts.ATTEMPTS_PREFIX,
        heartbeats.PREFIX,
        heartbeats.LIVE_PREFIX,
        heartbeats.LOST_PREFIX,
        progress.PROGRESS_KEY_PREFIX,
        wakeup.WAKE_PREFIX,
        changes.SCHEDULES_PREFIX,
    ]
    assert all(prefix.startswith(OWN_KEY_PREFIX) for prefix in prefixes), prefixes
    assert [reserved_key_owner(prefix + "x") for prefix in prefixes] == ["django-arq"] * len(prefixes)
    assert reserved_key_owner("django-arq-tests:q") is None  # a name of the same start, not a key of ours


def test_refusals_write_nothing(sync_queue: ArqQueue, redis_client) -> None:
    """On both backends: a refused job leaves no payload, so its id stays free."""
    job_id = f"refused-{uuid.uuid4().hex}"
    for options in ({"_defer_by": 1e306}, {"_queue_name": "arq:abort"}, {"_expires": math.nan}):
        with pytest.raises(InvalidJob):
            sync_queue.enqueue_sync("tests.jobs.add", 1, 2, _job_id=job_id, **options)
    assert not redis_client.exists(f"arq:job:{job_id}")
    assert redis_client.zscore("arq:abort", job_id) is None
    assert sync_queue.enqueue_sync("tests.jobs.add", 1, 2, _job_id=job_id, _defer_by=60).id == job_id


@pytest.mark.parametrize("batch", [False, True])
def test_a_queue_key_of_another_type_fails_the_enqueue_before_anything_is_written(
    redis_url: str, redis_client, batch: bool
) -> None:
    queue = RedisArqQueue(redis_url, default_queue_name=f"{settings.TEST_QUEUE}:typed-{uuid.uuid4().hex}")
    taken = f"{settings.TEST_QUEUE}:a-string-{uuid.uuid4().hex}"
    redis_client.set(taken, "not a queue")
    ids = [f"typed-{uuid.uuid4().hex}" for _ in range(3)]
    specs = [JobSpec("tests.jobs.add", (1, 2), queue_name=taken, job_id=ids[0], defer_by=MAX_DELAY)]
    if batch:
        specs = [
            JobSpec("tests.jobs.add", (1, 2), job_id=ids[1]),
            *specs,
            JobSpec("tests.jobs.add", job_id=ids[2]),
        ]
    try:
        with pytest.raises(InvalidJob, match=f"Redis key '{taken}' is not a queue.*nothing was enqueued"):
            queue.enqueue_many_sync(specs)
        assert redis_client.exists(*[f"arq:job:{i}" for i in ids]) == 0
        assert redis_client.zcard(queue.default_queue_name) == 0
        assert redis_client.get(taken) == b"not a queue"
        meta = queue.enqueue_sync("tests.jobs.add", 1, 2, _job_id=ids[0], _defer_by=60)  # the id is free
        assert queue.get_job_metadata_sync(meta.id).status is JobStatus.deferred
    finally:
        redis_client.delete(taken, queue.default_queue_name, *[f"arq:job:{i}" for i in ids])
        queue.close()


def test_an_abort_set_of_another_type_fails_the_enqueue_before_anything_is_written() -> None:
    """arq's abort set is checked too (on a Redis server of its own: the set is shared)."""
    with redis_server() as server:
        client = redis.Redis.from_url(server.url)
        client.set("arq:abort", "x")
        queue = RedisArqQueue(server.url, default_queue_name="q")
        try:
            for specs in (
                [JobSpec("tests.jobs.add", job_id="j1")],
                [JobSpec("t", job_id="j1"), JobSpec("t")],
            ):
                with pytest.raises(InvalidJob, match="'arq:abort' is not a queue"):
                    queue.enqueue_many_sync(specs)
            assert client.keys("*") == [b"arq:abort"]
        finally:
            client.close()
            queue.close()


@pytest.mark.parametrize("job_id", ["abc\n", "a\nb", ".", "..", "...", "", "a/b", "x" * 201, "a b", "\ud800"])
def test_unsafe_job_ids_are_refused(job_id: str) -> None:
    assert not is_valid_job_id(job_id)


@pytest.mark.parametrize("job_id", ["abc", "a.b", "..a", "x" * 200, "f3a1:b@c+d-e_f", uuid.uuid4().hex])
def test_safe_job_ids_are_accepted(job_id: str) -> None:
    assert is_valid_job_id(job_id)
