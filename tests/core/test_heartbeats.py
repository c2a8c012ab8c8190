"""The heartbeat scripts on real Redis: many callers racing to recover one lost worker re-queue each
of its jobs exactly once; a live worker's jobs, a plain arq worker's and jobs claimed since by
another worker are never touched; the entry says what happened; bad values are refused."""

from __future__ import annotations

import threading
import uuid

import pytest
import redis
from redis.asyncio import Redis as AsyncRedis

from django_arq.queues.drivers import run_sync
from django_arq.queues.heartbeat_task import Heartbeat
from django_arq.queues.heartbeats import (
    LIVE_PREFIX,
    PREFIX,
    LostJob,
    beat,
    leave,
    lost_after_problem,
    read_workers,
    running_key,
)
from django_arq.queues.protocol import claim_jobs
from django_arq.queues.recycling import Recycling, memory_mb
from django_arq.queues.wakeup import wake_channel
from tests.helpers import async_wait_for, wait_for


@pytest.fixture
def queue(heartbeat_queue: str) -> str:
    return heartbeat_queue


def run(redis_client: redis.Redis, op):  # type: ignore[no-untyped-def]
    return run_sync(op, redis_client, "test")


def start(redis_client: redis.Redis, queue: str, worker: str, jobs: list[str]) -> None:
    """``worker`` beats, then claims ``jobs`` (enqueued as arq does) and starts each (retry key 1)."""
    run(redis_client, beat(queue, worker, {"pid": 1}, ()))
    for job in jobs:
        redis_client.set(f"arq:job:{job}", b"payload")
        redis_client.zadd(queue, {job: 1})
    claimed = run(redis_client, claim_jobs(queue, jobs, 60_000, worker, running_key(worker)))
    assert [c[0] for c in claimed] == jobs
    for job in jobs:
        redis_client.incr(f"arq:retry:{job}")


def recover_lost(queue: str, worker: str, lost_after: float):  # type: ignore[no-untyped-def]
    """``worker``'s beat with a recovery of the workers silent for ``lost_after`` seconds."""
    return (yield from beat(queue, worker, {"pid": 9}, (), recover_after=lost_after))[1]


def silence(redis_client: redis.Redis, queue: str, worker: str) -> None:
    """Make ``worker``'s last beat an hour old."""
    redis_client.zadd(LIVE_PREFIX + queue, {worker: 0})


def test_racing_recoveries_requeue_each_job_once(redis_client: redis.Redis, queue: str) -> None:
    dead = f"{queue}-dead"
    jobs = [f"hbjob-{uuid.uuid4().hex[:8]}" for _ in range(20)]
    start(redis_client, queue, dead, jobs)
    silence(redis_client, queue, dead)
    found: list[LostJob] = []
    barrier = threading.Barrier(8)

    def recover(i: int) -> None:
        barrier.wait()  # each thread on a connection of its own from the client's pool
        found.extend(run(redis_client, recover_lost(queue, f"{queue}-live{i}", 3.0)))

    threads = [threading.Thread(target=recover, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(j.job_id for j in found) == sorted(jobs)
    assert {(j.worker_id, j.tries) for j in found} == {(dead, 1)}
    assert len({j.worker_id for j in found}) == 1
    for job in jobs:
        assert not redis_client.exists(f"arq:in-progress:{job}")
        assert redis_client.zscore(queue, job) is not None  # still queued, so due again
    entry = redis_client.hgetall(PREFIX + dead)
    assert entry[b"state"] == b"lost" and entry[b"recovered_by"].startswith(f"{queue}-live".encode())
    assert not redis_client.exists(running_key(dead))


def test_live_workers_and_others_jobs_are_left_alone(redis_client: redis.Redis, queue: str) -> None:
    live, dead, other = f"{queue}-a", f"{queue}-b", f"{queue}-c"
    mine, plain, moved = (f"hbjob-{uuid.uuid4().hex[:8]}" for _ in range(3))
    start(redis_client, queue, live, [mine])
    start(redis_client, queue, dead, [plain, moved])
    redis_client.set(f"arq:in-progress:{plain}", b"1")  # as a plain arq worker holds it
    redis_client.set(f"arq:in-progress:{moved}", other.encode())  # claimed since by another worker
    silence(redis_client, queue, dead)
    assert run(redis_client, recover_lost(queue, live, 3.0)) == []
    assert redis_client.get(f"arq:in-progress:{mine}") == live.encode()
    assert redis_client.get(f"arq:in-progress:{plain}") == b"1"
    assert redis_client.get(f"arq:in-progress:{moved}") == other.encode()
    states = {e.id: e.state for e in run(redis_client, read_workers(queue, 3.0))}
    assert states == {live: "live", dead: "lost"}


def test_a_worker_never_recovers_itself(redis_client: redis.Redis, queue: str) -> None:
    me = f"{queue}-me"
    job = f"hbjob-{uuid.uuid4().hex[:8]}"
    start(redis_client, queue, me, [job])
    silence(redis_client, queue, me)
    assert run(redis_client, recover_lost(queue, me, 3.0)) == []
    assert redis_client.get(f"arq:in-progress:{job}") == me.encode()


def test_a_beat_drops_done_jobs_and_leave_removes_the_worker(redis_client: redis.Redis, queue: str) -> None:
    me = f"{queue}-me"
    done, again = (f"hbjob-{uuid.uuid4().hex[:8]}" for _ in range(2))
    start(redis_client, queue, me, [done, again])
    redis_client.delete(f"arq:in-progress:{done}")  # finished
    run(redis_client, beat(queue, me, {"pid": 1, "running": [again]}, [done, again]))  # again: running again
    assert redis_client.smembers(running_key(me)) == {again.encode()}
    (entry,) = run(redis_client, read_workers(queue, 3.0))
    assert (entry.id, entry.state, entry.running, entry.get("pid")) == (me, "live", [again], 1)
    assert entry.age is not None and 0 <= entry.age < 3
    run(redis_client, leave(queue, me))
    assert run(redis_client, read_workers(queue, 3.0)) == []


@pytest.mark.parametrize("value", [0, -1, float("nan"), float("inf"), 1e300, "15", None, True])
def test_lost_after_refuses_bad_values(value: object) -> None:
    assert lost_after_problem(value) == "WORKER['LOST_AFTER'] must be a number of seconds from 1 to 86400"


def test_recycling_limits() -> None:
    jobs = Recycling(max_jobs=2)
    assert (jobs.job_ended(), jobs.job_ended(), jobs.job_ended()) == (False, True, False)
    assert jobs.due and jobs.reason == "ran 2 jobs (max jobs per process 2)"
    memory = Recycling(max_memory=1)
    assert memory.job_ended() and memory.reason.startswith("uses ")
    assert memory_mb() > 1
    assert not Recycling().job_ended()


def test_entries_edited_by_hand_never_hide_the_others(redis_client: redis.Redis, queue: str) -> None:
    me = f"{queue}-me"
    run(redis_client, beat(queue, me, {"pid": 1}, ()))
    odd = f"{queue}-odd"
    run(redis_client, beat(queue, odd, {"pid": 2}, ()))
    redis_client.hset(
        PREFIX + odd, mapping={"running": "[" * 100_000, "last_beat": "1e400", "host": b"\xff\x00"}
    )
    redis_client.zadd(LIVE_PREFIX + queue, {b"\xff\xfe-" + queue.encode(): 1})  # not UTF-8
    entries = {e.id: e for e in run(redis_client, read_workers(queue, 3.0))}
    assert entries[me].state == "live" and entries[me].get("pid") == 1
    assert entries[odd].running == [] and entries[odd].last_beat is None and entries[odd].get("pid") == 2
    assert entries[odd].get("host") == "\ufffd\x00"


def test_recovery_goes_on_past_values_edited_by_hand(redis_client: redis.Redis, queue: str) -> None:
    dead = f"{queue}-dead"
    good, odd = (f"hbjob-{uuid.uuid4().hex[:8]}" for _ in range(2))
    start(redis_client, queue, dead, [good, odd])
    redis_client.set(f"arq:retry:{odd}", "x")  # not a count
    bad = f"hbjob-{uuid.uuid4().hex[:8]}".encode() + b"\xff"  # not UTF-8
    redis_client.sadd(running_key(dead), bad)
    redis_client.set(b"arq:in-progress:" + bad, dead)
    redis_client.set(b"arq:job:" + bad, b"payload")
    silence(redis_client, queue, dead)
    found = run(redis_client, recover_lost(queue, f"{queue}-live", 3.0))
    assert {j.job_id: j.tries for j in found} == {good: 1, odd: 0, bad.decode(errors="replace"): 0}
    assert all(redis_client.zscore(queue, job) is not None for job in (good, odd, bad))


async def test_the_heartbeat_outlives_an_unexpected_error(
    redis_url: str, queue: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A beat that raises what no one foresaw is logged; the next beat comes (a worker that stopped
    beating would be taken for lost, and its running jobs run twice)."""
    calls = []

    def describe() -> dict[str, object]:
        calls.append(1)
        if len(calls) == 1:
            raise ValueError("a describe that fails once")
        return {"pid": 1}

    async def on_lost(jobs: list[LostJob]) -> None:
        pass

    client = AsyncRedis.from_url(redis_url)
    heartbeat = Heartbeat(client, queue, f"{queue}-me", 0.3, describe, on_lost)
    await client.sadd(running_key(f"{queue}-me"), "hbjob-done")
    heartbeat.job_done("hbjob-done")  # kept for the beat after the failed one
    heartbeat.start()
    try:
        await async_wait_for(lambda: len(calls) >= 2, timeout=10)
        await async_wait_for(lambda: client.zscore(LIVE_PREFIX + queue, f"{queue}-me"), timeout=10)
        assert await client.smembers(running_key(f"{queue}-me")) == set()
    finally:
        await heartbeat.stop()
        await client.aclose()
    failed = [r for r in caplog.records if r.name == "django_arq.worker" and r.exc_info]
    assert [r.getMessage() for r in failed] == [f"worker {queue}-me: heartbeat failed"]
    assert isinstance(failed[0].exc_info[1], ValueError)  # type: ignore[index]


def test_an_idle_beat_moves_the_last_beat_and_writes_the_entry_only_when_asked_or_gone(
    redis_client: redis.Redis, queue: str
) -> None:
    me = f"{queue}-me"
    first, _ = run(redis_client, beat(queue, me, {"pid": 1, "done": 0}, ()))
    later, _ = run(redis_client, beat(queue, me, {"pid": 1, "done": 5}, (), write=False))
    entry = redis_client.hgetall(PREFIX + me)
    assert entry[b"done"] == b"0" and int(entry[b"last_beat"]) == later >= first  # not rewritten
    assert redis_client.zscore(LIVE_PREFIX + queue, me) == later
    run(redis_client, beat(queue, me, {"pid": 1, "done": 5}, ()))
    assert redis_client.hget(PREFIX + me, "done") == b"5"
    assert redis_client.ttl(PREFIX + me) > 0
    redis_client.delete(PREFIX + me)  # gone (expired, or deleted by hand): written whole again
    run(redis_client, beat(queue, me, {"pid": 1, "done": 6}, (), write=False))
    assert redis_client.hget(PREFIX + me, "done") == b"6" and redis_client.ttl(PREFIX + me) > 0
    redis_client.zrem(LIVE_PREFIX + queue, me)  # taken for lost: back in the live set, entry live
    redis_client.hset(PREFIX + me, mapping={"state": "lost", "recovered_by": "x"})
    run(redis_client, beat(queue, me, {"pid": 1, "done": 6}, (), write=False))
    entry = redis_client.hgetall(PREFIX + me)
    assert entry[b"state"] == b"live" and b"recovered_by" not in entry
    assert redis_client.zscore(LIVE_PREFIX + queue, me) is not None


def test_a_recovery_wakes_idle_workers_only_when_it_requeues(redis_client: redis.Redis, queue: str) -> None:
    pubsub = redis_client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(wake_channel(queue))
    try:
        wait_for(lambda: pubsub.get_message(timeout=0.1) is None and pubsub.subscribed, timeout=10)
        live = f"{queue}-live"
        run(redis_client, recover_lost(queue, live, 3.0))  # nobody lost
        dead = f"{queue}-dead"
        job = f"hbjob-{uuid.uuid4().hex[:8]}"
        start(redis_client, queue, dead, [job])
        silence(redis_client, queue, dead)
        assert [j.job_id for j in run(redis_client, recover_lost(queue, live, 3.0))] == [job]
        message = wait_for(lambda: pubsub.get_message(timeout=0.1), timeout=10)
        assert message["channel"] == wake_channel(queue).encode() and message["data"] == queue.encode()
        assert pubsub.get_message(timeout=0.2) is None  # one wake-up, and none for the first call
    finally:
        pubsub.close()
