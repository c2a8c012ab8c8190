"""Random sequences of operations run on RedisArqQueue and MockArqQueue side by side, every answer
compared (Hypothesis): enqueues (single and bulk, ids drawn from a few, two queues, deferred or
not, a payload that expires at once or not), reads and aborts from either queue or the default,
counts, and a worker's pass over a queue (an in-process arq worker on Redis, ``run_queued`` on the
mock). Deterministic: no worker runs between steps, a payload's expiry is waited for, and an abort
no worker can confirm at once is settled by the worker pass that follows it on both backends.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
import redis
from arq import Worker, func
from arq.connections import ArqRedis
from hypothesis import HealthCheck, event, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from django_arq import ArqJobError, ArqQueue, JobResult, JobSpec, MockArqQueue, RedisArqQueue
from django_arq.queues.arq_internals import job_key_prefix, timestamp_ms
from tests import jobs
from tests.helpers import async_wait_for

pytestmark = pytest.mark.django_db

IDS = range(4)
QUEUES = ("a", "b", None)  # None: the default queue, "a"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
FUNCTIONS = [func(jobs.add, name="tests.jobs.add"), func(jobs.fail, name="tests.jobs.fail")]

job = st.tuples(
    st.sampled_from(IDS),
    st.sampled_from([None, 3600]),  # _defer_by
    st.sampled_from([None, "now", 7200]),  # _expires: "now" has the payload gone before the next step
    st.sampled_from(["tests.jobs.add", "tests.jobs.fail"]),
)
queues = st.sampled_from(QUEUES)
step = st.one_of(
    st.tuples(st.just("enqueue"), st.lists(job, min_size=1, max_size=3)),
    st.tuples(st.just("read"), st.sampled_from(["metadata", "result"]), st.sampled_from(IDS), queues),
    st.tuples(st.just("abort"), st.sampled_from(IDS), queues),
    st.tuples(st.just("run"), st.sampled_from(["a", "b"])),
)


@dataclass
class Side:
    """One backend, with the names of this example's queues and ids."""

    queue: ArqQueue
    names: dict[str, str] = field(default_factory=dict)

    def name(self, label: str | None) -> str | None:
        return None if label is None else self.names[label]

    def label(self, name: str) -> str:
        return next(k for k, v in self.names.items() if v == name)


def describe(side: Side, found: Any) -> Any:
    """What both backends must agree on: everything but times and the job's own id."""
    queue = side.label(found.queue_name)
    head = (type(found).__name__, found.name, found.args, found.kwargs, found.status, queue)
    if isinstance(found, JobResult):
        value = found.result
        return (*head, found.enqueue_time == EPOCH, found.success, type(value).__name__, str(value))
    return head


async def answer(side: Side, call: Any) -> Any:
    try:
        return ("ok", await call)
    except (ArqJobError, TimeoutError) as exc:
        return ("raised", type(exc).__name__)


async def enqueue(side: Side, ids: dict[int, str], homes: list[str | None], specs: list[Any]) -> Any:
    jobs_ = [
        JobSpec(
            fn, (i, i) if fn == "tests.jobs.add" else ("boom",), {}, side.name(homes[i]), ids[i],
            defer_by=defer, expires=0.001 if expires == "now" else expires,
        )
        for i, defer, expires, fn in specs
    ]  # fmt: skip
    if len(jobs_) == 1:
        spec = jobs_[0]
        call = side.queue.enqueue(
            spec.name, *spec.args, _queue_name=spec.queue_name, _job_id=spec.job_id,
            _defer_by=spec.defer_by, _expires=spec.expires,
        )  # fmt: skip
        kind, value = await answer(side, call)
        return kind, [describe(side, value)] if kind == "ok" else value
    kind, value = await answer(side, side.queue.enqueue_many(jobs_))
    return kind, [describe(side, m) for m in value] if kind == "ok" else value


async def run_worker(side: Side, client: redis.Redis, label: str) -> None:
    """A worker's pass over a queue: every job due now, run to its end."""
    name = side.names[label]
    if isinstance(side.queue, MockArqQueue):
        await side.queue.run_queued(queue_name=name)
        return
    due = client.zcount(name, "-inf", timestamp_ms())
    if not due:
        return
    pool = ArqRedis.from_url(side.queue.safe_url)
    worker = Worker(
        FUNCTIONS, redis_pool=pool, queue_name=name, burst=True, max_burst_jobs=due,
        poll_delay=0.005, handle_signals=False, allow_abort_jobs=True, keep_result=3600,
    )  # fmt: skip
    try:
        await asyncio.wait_for(worker.main(), 30)
    finally:
        await worker.close()


async def perform(
    sides: list[Side], client: redis.Redis, ids: dict[int, str], homes: list[str | None], op: tuple[Any, ...]
) -> list[Any]:
    answers = []
    for side in sides:
        if op[0] == "enqueue":
            answers.append(await enqueue(side, ids, homes, op[1]))
            expiring = [ids[i] for i, _d, expires, _f in op[1] if expires == "now"]
            if expiring and answers[-1][0] == "ok":
                await payloads_gone(side, client, expiring)
        elif op[0] == "read":
            _, kind, i, q = op
            read = side.queue.get_job_metadata if kind == "metadata" else side.queue.get_job_result
            got = await answer(side, read(ids[i], side.name(q)))
            answers.append((got[0], describe(side, got[1])) if got[0] == "ok" else got)
        elif op[0] == "abort":
            _, i, q = op
            got = await answer(side, side.queue.abort_job(ids[i], side.name(q), timeout=0))
            # The mock's abort is confirmed at once; on Redis a worker confirms it (the pass below).
            answers.append("requested" if got in (("ok", True), ("raised", "TimeoutError")) else got)
            if answers[-1] == "requested":
                await run_worker(side, client, q or "a")
        else:
            await run_worker(side, client, op[1])
            answers.append(None)
    return answers


async def payloads_gone(side: Side, client: redis.Redis, job_ids: list[str]) -> None:
    """Wait until a payload enqueued to expire at once has expired (a millisecond on both clocks)."""
    if isinstance(side.queue, RedisArqQueue):
        await async_wait_for(lambda: not client.exists(*(job_key_prefix + j for j in job_ids)))
    else:
        after = timestamp_ms() + 1
        await async_wait_for(lambda: timestamp_ms() > after)


def summary(op: tuple[Any, ...], answer: Any) -> Any:
    """The kind of an answer, for Hypothesis's statistics."""
    if op[0] in ("abort", "run") or answer[0] == "raised":
        return answer
    return answer[1][0][4].value if op[0] == "enqueue" else (answer[1][0], answer[1][4].value)


async def counts(side: Side) -> list[tuple[int, int, int]]:
    got = await side.queue.count_jobs([side.names["a"], side.names["b"]])
    return [(c.queued, c.deferred, c.in_progress) for c in got]


async def run_sequence(
    redis_url: str, client: redis.Redis, homes: list[str | None], ops: list[tuple[Any, ...]]
) -> None:
    run = uuid.uuid4().hex[:10]
    names = {"a": f"django-arq-tests:seq-{run}-a", "b": f"django-arq-tests:seq-{run}-b"}
    ids = {i: f"seq-{run}-{i}" for i in IDS}
    sides = [
        Side(RedisArqQueue(redis_url, default_queue_name=names["a"], abort_timeout=0), names),
        Side(MockArqQueue(default_queue_name=names["a"], abort_timeout=0), names),
    ]
    try:
        for n, op in enumerate(ops):
            on_redis, on_mock = await perform(sides, client, ids, homes, op)
            assert on_mock == on_redis, f"step {n} {op}"
            event(f"{op[0]}: {summary(op, on_redis)}")
            assert await counts(sides[1]) == await counts(sides[0]), f"counts after step {n} {op}"
    finally:
        for side in sides:
            await side.queue.aclose()
        keys = [*names.values(), *(f"{n}:health-check" for n in names.values())]
        for i in ids.values():
            keys += [f"arq:{kind}:{i}" for kind in ("job", "result", "in-progress", "retry")]
        client.delete(*keys)
        client.zrem("arq:abort", *ids.values())


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(homes=st.lists(queues, min_size=len(IDS), max_size=len(IDS)), ops=st.lists(step, max_size=12))
def test_both_backends_answer_a_sequence_of_operations_alike(
    redis_url: str, redis_client: redis.Redis, homes: list[str | None], ops: list[tuple[Any, ...]]
) -> None:
    """Each id is enqueued to one queue of its own (``homes``): an id enqueued again to another queue
    once its payload expired unreached differs by design (docs/testing.md)."""
    asyncio.run(run_sequence(redis_url, redis_client, homes, ops))
