"""The values around the heartbeat scripts (``queues.heartbeats``) in-process: the ``LOST_AFTER``
limits, a worker's id, its entry read back as live, late or lost, and the beat's reply."""

from __future__ import annotations

import os
import re
import socket
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import redis

from django_arq.queues.drivers import run_sync
from django_arq.queues.heartbeats import (
    ENTRY_TTL,
    LIVE_PREFIX,
    LOST_PREFIX,
    PREFIX,
    LostJob,
    WorkerEntry,
    _entry,
    beat,
    beat_interval,
    leave,
    lost_after_problem,
    new_worker_id,
    read_workers,
    running_key,
)

NOW_MS = 1_800_000_000_000


@pytest.mark.parametrize("value", [1, 1.0, 15, 45.5, 86400, 86400.0])
def test_lost_after_takes_any_number_of_seconds_from_1_to_86400(value: float) -> None:
    assert lost_after_problem(value) is None


@pytest.mark.parametrize("value", [0.999, 86400.001, 86401])
def test_lost_after_refuses_numbers_just_outside(value: float) -> None:
    assert lost_after_problem(value) is not None


def test_a_beat_comes_every_third_of_lost_after() -> None:
    assert beat_interval(15.0) == 5.0 and beat_interval(1) == 1 / 3


def test_a_worker_id_is_host_pid_and_eight_random_hex_digits() -> None:
    first, second = new_worker_id(), new_worker_id()
    host, pid, tail = first.rsplit("-", 2)
    assert host == socket.gethostname()[:40] and pid == str(os.getpid())
    assert re.fullmatch("[0-9a-f]{8}", tail) and first != second
    assert running_key(first) == f"{PREFIX}{first}:running"


def entry(fields: dict[Any, Any], lost_after: float = 30.0, now_ms: int = NOW_MS) -> WorkerEntry:
    return _entry("w-1", fields, now_ms, lost_after)


@pytest.mark.parametrize(
    ("silent_ms", "state"),
    [(0, "live"), (15_000, "live"), (15_001, "late"), (30_000, "late"), (30_001, "lost")],
)
def test_a_worker_is_late_past_one_and_a_half_beats_and_lost_past_lost_after(
    silent_ms: int, state: str
) -> None:
    found = entry({b"state": b'"live"', b"last_beat": str(NOW_MS - silent_ms).encode()})
    assert (found.id, found.state, found.age) == ("w-1", state, silent_ms / 1000)


def test_the_last_beat_is_read_as_a_utc_time() -> None:
    found = entry({b"last_beat": b"1700000000123"})
    assert found.last_beat == datetime(2023, 11, 14, 22, 13, 20, 123000, tzinfo=UTC)
    assert entry({b"last_beat": b'"soon"'}).last_beat is None
    assert entry({b"last_beat": b"1.5"}).age is None  # not milliseconds: no age


def test_a_worker_found_lost_stays_lost_whatever_its_age() -> None:
    found = entry({b"state": b'"lost"', b"last_beat": str(NOW_MS).encode(), b"requeued": b'["j1", 2]'})
    assert (found.state, found.running) == ("lost", ["j1", "2"])


def test_fields_are_json_text_kept_as_is_when_not_json_and_may_come_as_str() -> None:
    found = entry({b"pid": b"12", b"running": b'["a"]', b"note": b"not json", "host": "h"})
    assert found.info == {"pid": 12, "running": ["a"], "note": "not json", "host": "h"}
    assert found.running == ["a"] and found.get("pid") == 12
    assert found.get("missing") is None and found.get("missing", 7) == 7
    assert entry({b"running": b'"one"'}).running == []  # edited by hand: not a list


@pytest.fixture
def queue(redis_client: redis.Redis) -> Iterator[str]:
    name = f"django-arq-tests:we:{uuid.uuid4().hex[:10]}"
    yield name
    redis_client.delete(LIVE_PREFIX + name, LOST_PREFIX + name, *redis_client.scan_iter(f"{PREFIX}{name}*"))


def run(redis_client: redis.Redis, op: Any) -> Any:
    return run_sync(op, redis_client, "test")


def test_read_workers_lists_live_then_lost_newest_first_each_once(
    redis_client: redis.Redis, queue: str
) -> None:
    for worker in ("a", "b", "c", "d", "e"):
        run(redis_client, beat(queue, f"{queue}-{worker}", {"pid": 1}, ()))
    lost = {f"{queue}-b": 1, f"{queue}-c": 4, f"{queue}-d": 3, f"{queue}-e": 2, f"{queue}-gone": 5}
    redis_client.zadd(LOST_PREFIX + queue, lost)
    redis_client.zrem(LIVE_PREFIX + queue, f"{queue}-c", f"{queue}-d", f"{queue}-e")
    ids = [e.id for e in run(redis_client, read_workers(queue, 30.0))]
    assert ids == [f"{queue}-{w}" for w in ("a", "b", "c", "d", "e")]  # "gone": no entry left


def test_an_id_that_is_not_utf8_is_never_listed(redis_client: redis.Redis, queue: str) -> None:
    """Not even when an entry exists under the name it decodes to (both written by hand)."""
    redis_client.zadd(LIVE_PREFIX + queue, {b"\xff-" + queue.encode(): 1})
    redis_client.hset(f"{PREFIX}\ufffd-{queue}", "last_beat", "1")
    try:
        assert run(redis_client, read_workers(queue, 30.0)) == []
    finally:
        redis_client.delete(f"{PREFIX}\ufffd-{queue}")


def test_read_workers_of_one_worker(redis_client: redis.Redis, queue: str) -> None:
    run(redis_client, beat(queue, f"{queue}-a", {"pid": 7}, ()))
    (found,) = run(redis_client, read_workers(queue, 30.0))
    assert (found.id, found.state, found.get("pid")) == (f"{queue}-a", "live", 7)
    assert found.age is not None and 0 <= found.age < 5


def test_a_beat_keeps_the_entry_as_long_as_it_is_told(redis_client: redis.Redis, queue: str) -> None:
    me = f"{queue}-me"
    run(redis_client, beat(queue, me, {"pid": 1}, ()))
    assert ENTRY_TTL - 5 < redis_client.ttl(PREFIX + me) <= ENTRY_TTL
    run(redis_client, beat(queue, me, {"pid": 1}, (), ttl=100))
    assert 90 < redis_client.ttl(PREFIX + me) <= 100
    assert 90 < redis_client.ttl(LIVE_PREFIX + queue) <= 100


def test_a_beat_answers_redis_time_and_the_jobs_it_requeued(redis_client: redis.Redis, queue: str) -> None:
    seconds, micros = redis_client.time()
    now, lost = run(redis_client, beat(queue, f"{queue}-me", {"pid": 1}, ()))
    assert isinstance(now, int) and abs(now - (seconds * 1000 + micros // 1000)) < 5_000
    assert lost == []


def test_leave_removes_the_entry_the_running_set_and_the_place_in_the_live_set_at_once(
    redis_client: redis.Redis, queue: str
) -> None:
    me = f"{queue}-me"
    run(redis_client, beat(queue, me, {"pid": 1}, ()))
    redis_client.sadd(running_key(me), "job")
    call = next(leave(queue, me))
    assert call.transaction  # one MULTI: no reader sees the worker half gone
    run(redis_client, leave(queue, me))
    assert not redis_client.exists(PREFIX + me, running_key(me))
    assert redis_client.zscore(LIVE_PREFIX + queue, me) is None


@pytest.mark.parametrize(("recover_after", "lost_ms"), [(None, "0"), (2.5, "2500"), (0.0001, "1")])
def test_a_beat_gives_the_script_lost_after_in_milliseconds(
    recover_after: float | None, lost_ms: str
) -> None:
    call = next(beat("q", "w", {}, (), recover_after=recover_after))
    ((_keys, args),) = call.commands
    assert str(args[5]) == lost_ms


def test_the_jobs_a_beat_requeued_read_from_bytes_or_text() -> None:
    for reply in ([1, b"w1", b"job-1", b"2"], [1, "w1", "job-1", "2"], [1, b"w1", b"job-1", b"x"]):
        op = beat("q", "w", {}, ())
        next(op)
        with pytest.raises(StopIteration) as done:
            op.send(reply)
        tries = 0 if reply[3] == b"x" else 2
        assert done.value.value == (1, [LostJob("job-1", "w1", tries)])


def read_one(time_reply: list[Any], ids: list[Any], raw: dict[Any, Any]) -> list[WorkerEntry]:
    """read_workers driven by hand: Redis TIME, one live id, its entry (a single reply, unwrapped)."""
    op = read_workers("q", 30.0)
    next(op)
    op.send([time_reply, ids, []])
    with pytest.raises(StopIteration) as done:
        op.send(raw)
    return done.value.value


@pytest.mark.parametrize(("micros", "age"), [(999_999, 0.999), (500_000, 0.5)])
def test_the_age_is_counted_in_whole_milliseconds_of_redis_time(micros: int, age: float) -> None:
    (found,) = read_one([b"1800000000", str(micros).encode()], [b"w1"], {b"last_beat": b"1800000000000"})
    assert found.age == age


def test_ids_read_as_text_are_kept() -> None:
    (found,) = read_one([b"1800000000", b"0"], ["w1"], {b"last_beat": b"1799999999000"})
    assert (found.id, found.age) == ("w1", 1.0)


def test_a_worker_id_keeps_forty_characters_of_a_long_host_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket, "gethostname", lambda: "h" * 50)
    assert new_worker_id().startswith("h" * 40 + f"-{os.getpid()}-")
