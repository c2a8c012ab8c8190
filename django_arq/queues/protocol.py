"""arq's Redis protocol, written once and free of I/O (in the manner of h11).

Each operation is a generator that yields ``Call`` (one round trip) or ``Sleep`` steps and
receives the replies; ``drivers`` runs the same generator on a blocking or an asyncio client,
so sync and async callers share every rule. Keys and payloads are arq's own.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from functools import cached_property, partial
from typing import Any, TypeVar

from arq.jobs import JobStatus

from ..tracing import PAYLOAD_KEY, EnqueueTracer, TraceContext
from .arq_internals import (
    DeserializationError,
    abort_jobs_ss,
    deserialize_job,
    deserialize_result,
    expires_extra_ms,
    health_check_key_suffix,
    in_progress_key_prefix,
    job_key_prefix,
    ms_to_datetime,
    result_key_prefix,
    serialize_job,
    timestamp_ms,
)
from .exceptions import ArqJobError, InvalidJob, JobResultUnavailable
from .jobs import (
    JobMetadata,
    JobResult,
    JobSpec,
    QueueCounts,
    can_name_a_job,
    check_distinct_ids,
    ids_taken,
    is_abort_result,
    job_ids,
    job_not_found,
    job_status,
    span_names,
    unserializable,
)
from .progress import decode_progress, progress_key
from .serializers import Serializer
from .wakeup import WAKE_PREFIX

__all__ = ["Call", "Op", "RedisProtocol", "Script", "Sleep", "claim_jobs"]

T = TypeVar("T")

#: At most this many due jobs of a queue are checked for an in-progress key when counting.
IN_PROGRESS_SCAN = 10_000


@dataclass(frozen=True)
class Script:
    """A Lua script, run by its SHA1 and loaded on demand."""

    source: str

    @cached_property
    def sha(self) -> str:
        return hashlib.sha1(self.source.encode(), usedforsecurity=False).hexdigest()


@dataclass(frozen=True)
class Call:
    """One round trip: a single command, a script, or several commands pipelined."""

    commands: tuple[tuple[Any, ...], ...]
    transaction: bool = False
    script: Script | None = None  # when set, ``commands`` is one (keys, args) pair for it


@dataclass(frozen=True)
class Sleep:
    seconds: float


Op = Generator[Call | Sleep, Any, T]

# Adds a batch of jobs exactly as arq's enqueue_job does (PSETEX payload, ZADD queue), or none
# of them if any id already has a payload, a result or an in-progress key (a running job whose
# payload expired: its worker would delete the new payload when it finishes), or if a queue (or
# the abort set) is a key of another type than a sorted set: everything is checked before
# anything is written. It also drops a stale entry for the id from arq's abort set, which would
# otherwise abort the new job (arq issue #485). Keys are checked and members added CHUNK at a
# time (one command each, within Lua's unpack limit); a single job takes a short path. Each queue
# that got jobs is announced on its wake channel (``wakeup``), so that idle django-arq workers
# start them at once.
# KEYS: abort set, then per job: job key, result key, in-progress key, queue.  ARGV: per job: id,
# payload, ttl ms, score.
# Returns {} when enqueued, the ids taken, or {0, key} for a key of the wrong type.
ENQUEUE = Script(
    f"local WAKE = '{WAKE_PREFIX}'\n"
    """
local function wrong_type(key)
  local t = redis.call('TYPE', key).ok
  return t ~= 'none' and t ~= 'zset'
end
if wrong_type(KEYS[1]) then return {0, KEYS[1]} end
if #KEYS == 5 then  -- one job, the usual enqueue: a command each costs less than batching
  if wrong_type(KEYS[5]) then return {0, KEYS[5]} end
  if redis.call('EXISTS', KEYS[2], KEYS[3], KEYS[4]) > 0 then return {ARGV[1]} end
  redis.call('PSETEX', KEYS[2], ARGV[3], ARGV[2])
  redis.call('ZADD', KEYS[5], ARGV[4], ARGV[1])
  redis.call('ZREM', KEYS[1], ARGV[1])
  redis.call('PUBLISH', WAKE .. KEYS[5], '')
  return {}
end
local CHUNK = 500
local seen = {}
for i = 5, #KEYS, 4 do
  if not seen[KEYS[i]] then
    seen[KEYS[i]] = true
    if wrong_type(KEYS[i]) then return {0, KEYS[i]} end
  end
end
local keys, clash = {}, false
for i = 2, #KEYS, 4 do
  keys[#keys + 1] = KEYS[i]
  keys[#keys + 1] = KEYS[i + 1]
  keys[#keys + 1] = KEYS[i + 2]
  if #keys >= 3 * CHUNK or i + 4 > #KEYS then
    clash = clash or redis.call('EXISTS', unpack(keys)) > 0
    keys = {}
  end
end
if clash then
  local taken = {}
  for i = 2, #KEYS, 4 do
    if redis.call('EXISTS', KEYS[i], KEYS[i + 1], KEYS[i + 2]) > 0 then taken[#taken + 1] = ARGV[i - 1] end
  end
  return taken
end
local members, aborts = {}, redis.call('EXISTS', KEYS[1]) == 1
for i = 2, #KEYS, 4 do
  local a = i - 2
  redis.call('PSETEX', KEYS[i], ARGV[a + 3], ARGV[a + 2])
  if aborts then redis.call('ZREM', KEYS[1], ARGV[a + 1]) end
  local m = members[KEYS[i + 3]] or {}
  m[#m + 1] = ARGV[a + 4]
  m[#m + 1] = ARGV[a + 1]
  members[KEYS[i + 3]] = m
  if #m >= 2 * CHUNK then redis.call('ZADD', KEYS[i + 3], unpack(m)); members[KEYS[i + 3]] = {} end
end
for queue, m in pairs(members) do
  if #m > 0 then redis.call('ZADD', queue, unpack(m)) end
  redis.call('PUBLISH', WAKE .. queue, '')
end
return {}
"""
)

# Requests an abort only for a job that is queued, deferred or running, so that no entry is
# left in the abort set for an unknown or finished id. A job that is not running is unknown
# without its payload: one that expired before a worker took it is still in its queue, but a
# worker would only finish it as expired. A deferred job is moved to the front of its queue (as
# arq's Job.abort does), and idle workers are woken, so that one picks it up and aborts it.
# KEYS: result key, in-progress key, queue, abort set, job key.  ARGV: id, now ms.
# Returns 0 finished, -1 unknown, 1 requested.
ABORT = Script(
    f"local WAKE = '{WAKE_PREFIX}'\n"
    """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local score = redis.call('ZSCORE', KEYS[3], ARGV[1])
local running = redis.call('EXISTS', KEYS[2])
if running == 0 and ((not score) or redis.call('EXISTS', KEYS[5]) == 0) then return -1 end
if score and running == 0 and tonumber(score) > tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[3], 1, ARGV[1])
  redis.call('PUBLISH', WAKE .. KEYS[3], '')
end
redis.call('ZADD', KEYS[4], ARGV[2], ARGV[1])
return 1
"""
)

ABORT_FINISHED, ABORT_UNKNOWN = 0, -1

# Claims due jobs for a worker, as arq's Worker.start_jobs does one job at a time with WATCH/MULTI:
# a job is claimed (its in-progress key set) only if it is still in the queue, due, and not in
# progress. The in-progress key holds the claiming worker's id (arq's own worker writes 1), and
# the claimed ids join that worker's running set (queues.heartbeats) unless it is "". A claimed job
# whose attempt-log key is given (queues.attempts) gets the attempt entry appended to that list,
# which then expires the log's ttl after.
# KEYS: queue, running set, then per job its in-progress key, then (only if some job has one) per
# job its attempt-log key or "".  ARGV: now ms, in-progress ttl ms, owner, attempt entry, log ttl s,
# ids.  Returns the claimed ids, each followed by its score.
CLAIM = Script(
    """
local n = #ARGV - 5
local logs = #KEYS > n + 2
local claimed = {}
for i = 1, n do
  local id = ARGV[i + 5]
  local score = redis.call('ZSCORE', KEYS[1], id)
  if score and tonumber(score) <= tonumber(ARGV[1]) and redis.call('EXISTS', KEYS[i + 2]) == 0 then
    redis.call('PSETEX', KEYS[i + 2], ARGV[2], ARGV[3])
    if KEYS[2] ~= '' then redis.call('SADD', KEYS[2], id) end
    local log = logs and KEYS[i + n + 2] or ''
    if log ~= '' then
      redis.call('RPUSH', log, ARGV[4])
      redis.call('EXPIRE', log, ARGV[5])
    end
    claimed[#claimed + 1] = id
    claimed[#claimed + 1] = score
  end
end
return claimed
"""
)

# Everything arq's Job.info() and Job.status() read, and the job's progress report, in one atomic call.
# KEYS: job key, queue, in-progress key, result key, progress key.  ARGV: id.
SNAPSHOT = Script(
    """
return {redis.call('GET', KEYS[1]), redis.call('ZSCORE', KEYS[2], ARGV[1]),
        redis.call('EXISTS', KEYS[3]), redis.call('GET', KEYS[4]), redis.call('GET', KEYS[5])}
"""
)


@dataclass(frozen=True)
class Snapshot:
    """What Redis holds about one job, read atomically in one round trip."""

    payload: bytes | None
    score: float | None
    in_progress: bool
    result: bytes | None
    progress: bytes | None = None


class RedisProtocol:
    """The rules of every operation on arq's keys, as I/O-free generators."""

    def __init__(
        self,
        serializer: Serializer,
        default_queue_name: str,
        expires_extra_ms: int = expires_extra_ms,
        tracer: EnqueueTracer | None = None,
    ) -> None:
        self.serializer = serializer
        self.default_queue_name = default_queue_name
        self.expires_extra_ms = expires_extra_ms
        self.tracer = tracer

    # -- enqueue ---------------------------------------------------------------------------

    def enqueue(self, specs: Sequence[JobSpec]) -> Op[list[JobMetadata]]:
        """Enqueue all jobs in one round trip, or none if an id is taken; with a tracer, each in
        a span whose context the job's payload carries."""
        ids = job_ids(specs)
        if self.tracer is None:
            return self._enqueue(specs, ids, None)
        jobs = partial(span_names, specs, ids, self.default_queue_name)
        return self.tracer.trace(len(specs), jobs, partial(self._enqueue, specs, ids))

    def _payload(self, spec: JobSpec, now_ms: int, trace: TraceContext | None) -> bytes:
        dumps = self.serializer.dumps
        if trace is not None and trace.carrier:
            dumps = partial(_with_trace, dumps, trace.carrier)
        return serialize_job(spec.name, tuple(spec.args), dict(spec.kwargs), None, now_ms, serializer=dumps)

    def _enqueue(
        self, specs: Sequence[JobSpec], ids: Sequence[str], traces: Sequence[TraceContext] | None
    ) -> Op[list[JobMetadata]]:
        now_ms = timestamp_ms()
        enqueue_time = ms_to_datetime(now_ms)
        keys: list[str] = [abort_jobs_ss]
        args: list[Any] = []
        metas: list[JobMetadata] = []
        for i, (spec, job_id) in enumerate(zip(specs, ids, strict=True)):
            queue_name = spec.queue_name or self.default_queue_name
            score, ttl_ms = spec.schedule(now_ms, self.expires_extra_ms)
            trace = None if traces is None else traces[i]
            try:
                payload = self._payload(spec, now_ms, trace)
            except Exception as exc:
                raise unserializable(spec, self.serializer.name, job_id, exc) from exc
            running = in_progress_key_prefix + job_id
            keys += [job_key_prefix + job_id, result_key_prefix + job_id, running, queue_name]
            args += [job_id, payload, ttl_ms, score]
            status = job_status(False, score, now_ms)
            metas.append(
                JobMetadata(
                    id=job_id,
                    name=spec.name,
                    args=tuple(spec.args),
                    kwargs=dict(spec.kwargs),
                    enqueue_time=enqueue_time,
                    status=status,
                    queue_name=queue_name,
                    trace_id=None if trace is None else trace.trace_id,
                )
            )
        check_distinct_ids([m.id for m in metas])
        if not metas:
            return metas
        taken = yield Call(((tuple(keys), tuple(args)),), script=ENQUEUE)
        if taken and taken[0] == 0:
            key = taken[1].decode(errors="replace") if isinstance(taken[1], bytes) else str(taken[1])
            raise InvalidJob(
                f"Redis key {key!r} is not a queue (it holds another type than a sorted set); "
                "nothing was enqueued"
            )
        if taken:
            raise ids_taken(tuple(t.decode() if isinstance(t, bytes) else str(t) for t in taken))
        return metas

    # -- reads -----------------------------------------------------------------------------

    def snapshot(self, job_id: str, queue_name: str) -> Op[Snapshot]:
        """Read a job's payload, queue score, in-progress flag and result atomically, in one round trip."""
        keys = (
            job_key_prefix + job_id,
            queue_name,
            in_progress_key_prefix + job_id,
            result_key_prefix + job_id,
            progress_key(job_id),
        )
        call = Call(((keys, (job_id,)),), script=SNAPSHOT)
        payload, score, in_progress, result, progress = yield from on_queues(call, (queue_name,))
        score = None if score is None else float(score)
        return Snapshot(payload, score, bool(in_progress), result, progress)

    def _queue(self, queue_name: str | None) -> str:
        return queue_name or self.default_queue_name

    def _read(self, job_id: str, raw: bytes, read: Callable[..., T]) -> T:
        """arq's ``deserialize_job``/``deserialize_result``; an unreadable payload is a clear error."""
        try:
            return read(raw, deserializer=self.serializer.loads)
        except DeserializationError as exc:
            raise ArqJobError(
                f"job {job_id!r} cannot be read with the {self.serializer.name!r} serializer "
                f"({type(exc).__name__}: {exc}); was it written by a client with another SERIALIZER?",
                job_id,
            ) from exc

    def decode(self, job_id: str, queue_name: str, snap: Snapshot) -> JobMetadata | JobResult:
        """Turn a snapshot into metadata or a result; ``JobNotFound`` if there is no job."""
        if snap.result is not None:
            r = self._read(job_id, snap.result, deserialize_result)
            return JobResult(
                id=job_id,
                name=r.function,
                args=tuple(r.args),
                kwargs=dict(r.kwargs),
                enqueue_time=r.enqueue_time,
                status=JobStatus.complete,
                queue_name=r.queue_name,
                start_time=r.start_time,
                finish_time=r.finish_time,
                success=r.success,
                result=r.result,
                progress=decode_progress(snap.progress),
            )
        if snap.payload is None or (snap.score is None and not snap.in_progress):
            raise job_not_found(job_id, queue_name)
        d = self._read(job_id, snap.payload, deserialize_job)
        status = job_status(snap.in_progress, snap.score, timestamp_ms())
        return JobMetadata(
            id=job_id,
            name=d.function,
            args=tuple(d.args),
            kwargs=dict(d.kwargs),
            enqueue_time=d.enqueue_time,
            status=status,
            queue_name=queue_name,
            progress=decode_progress(snap.progress),
        )

    def get_job(self, job_id: str, queue_name: str | None) -> Op[JobMetadata | JobResult]:
        queue = self._queue(queue_name)
        if not can_name_a_job(job_id):  # no round trip for an id that no key can hold
            raise job_not_found(job_id, queue)
        return self.decode(job_id, queue, (yield from self.snapshot(job_id, queue)))

    def get_metadata(self, job_id: str, queue_name: str | None) -> Op[JobMetadata]:
        found = yield from self.get_job(job_id, queue_name)
        return found.metadata() if isinstance(found, JobResult) else found

    def get_result(self, job_id: str, queue_name: str | None) -> Op[JobResult]:
        found = yield from self.get_job(job_id, queue_name)
        if not isinstance(found, JobResult):
            raise JobResultUnavailable(
                f"job {job_id!r} is {found.status.value}; it has no result yet", job_id
            )
        return found

    def count(self, queue_names: Sequence[str]) -> Op[list[QueueCounts]]:
        """Counts and worker health of each queue in two pipelined round trips, never with ``KEYS``.

        Running jobs are the due ones with an in-progress key; at most ``IN_PROGRESS_SCAN`` are checked.
        """
        if not queue_names:
            return []
        now_ms = timestamp_ms()
        commands: list[tuple[Any, ...]] = []
        for name in queue_names:
            commands += [
                ("ZCOUNT", name, "-inf", now_ms),
                ("ZCOUNT", name, f"({now_ms}", "+inf"),
                ("ZRANGEBYSCORE", name, "-inf", now_ms, "LIMIT", 0, IN_PROGRESS_SCAN),
                ("GET", name + health_check_key_suffix),
                ("PTTL", name + health_check_key_suffix),
            ]
        replies = yield from on_queues(Call(tuple(commands)), queue_names)
        counts, checks = [], []
        for i, name in enumerate(queue_names):
            due, deferred, members, health, pttl = replies[i * 5 : i * 5 + 5]
            counts.append(
                QueueCounts(
                    name,
                    queued=int(due),
                    deferred=int(deferred),
                    in_progress=0,
                    in_progress_capped=int(due) > len(members),
                    health=health.decode(errors="replace") if health is not None else None,
                    health_ttl=pttl / 1000 if health is not None and pttl >= 0 else None,
                )
            )
            keys = [in_progress_key_prefix + (m.decode() if isinstance(m, bytes) else m) for m in members]
            checks.append(("EXISTS", *keys) if keys else ("ECHO", 0))
        running = yield Call(tuple(checks))
        if len(checks) == 1:  # a single command is sent as it is, not pipelined
            running = [running]
        for c, n in zip(counts, running, strict=True):
            c.in_progress = int(n)
            c.queued -= c.in_progress
        return counts

    # -- abort -----------------------------------------------------------------------------

    def abort(self, job_id: str, queue_name: str | None, timeout: float) -> Op[bool]:
        """Request an abort and wait up to ``timeout`` s for a worker to confirm it.

        Returns True once the job's result records the abort, False if the job is unknown or
        finished without being aborted; raises ``TimeoutError`` if no worker answered in time,
        leaving the request in place so that a worker aborts the job when it next sees it.
        """
        queue = self._queue(queue_name)
        if not can_name_a_job(job_id):
            return False
        keys = (
            result_key_prefix + job_id,
            in_progress_key_prefix + job_id,
            queue,
            abort_jobs_ss,
            job_key_prefix + job_id,
        )
        state = yield from on_queues(Call(((keys, (job_id, timestamp_ms())),), script=ABORT), (queue,))
        if state in (ABORT_FINISHED, ABORT_UNKNOWN):
            return False
        deadline = time.monotonic() + timeout
        delay = 0.005
        while True:
            snap = yield from self.snapshot(job_id, queue)
            if snap.result is not None:
                r = self._read(job_id, snap.result, deserialize_result)
                return is_abort_result(r.success, r.result)
            if snap.score is None and not snap.in_progress:
                # Gone without a kept result (keep_result=0 or expired): nothing left to abort.
                yield Call((("ZREM", abort_jobs_ss, job_id),))
                return False
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(
                    f"no worker confirmed the abort of job {job_id!r} within {timeout:g}s; "
                    "the request stays until a worker picks the job up"
                )
            yield Sleep(min(delay, remaining))
            delay = min(delay * 2, 0.25)


def on_queues(call: Call, queue_names: Sequence[str]) -> Op[Any]:
    """Make ``call``, which reads ``queue_names`` as queues. A ``WRONGTYPE`` refusal is reported as
    the queue name that is not a queue, once Redis confirms it (an extra round trip, on that path only)."""
    try:
        return (yield call)
    except ArqJobError as exc:
        if "WRONGTYPE" not in str(exc.__cause__):
            raise
        failure = exc
    names = tuple(dict.fromkeys(queue_names))
    types = yield Call(tuple(("TYPE", name) for name in names))
    if len(names) == 1:  # a single command is sent as it is, not pipelined
        types = [types]
    for name, kind in zip(names, types, strict=True):
        if _text(kind) not in ("zset", "none"):
            raise ArqJobError(
                f"Redis key {name!r} is not a queue (it holds a {_text(kind)}, not a sorted set)"
            ) from failure
    raise failure


def claim_jobs(
    queue_name: str,
    job_ids: Sequence[str],
    in_progress_ms: int,
    owner: str = "1",
    running_key: str = "",
    logs: Sequence[str] = (),
    entry: str = "",
    log_ttl: int = 0,
) -> Op[list[tuple[str, int]]]:
    """Claim for a worker the due, not yet running jobs among ``job_ids``, in one round trip; their
    in-progress keys hold ``owner``, and they join the set ``running_key`` if one is given. ``logs``
    (one key per job, "" for none) are the attempt logs the claimed jobs append ``entry`` to, each
    then kept ``log_ttl`` seconds.

    Returns (id, score) pairs of the jobs whose in-progress key this call set.
    """
    if not job_ids:
        return []
    logged = tuple(logs) if any(logs) else ()
    if logged and len(logged) != len(job_ids):
        raise ValueError(f"{len(logged)} attempt logs for {len(job_ids)} jobs")
    keys = (queue_name, running_key, *(in_progress_key_prefix + i for i in job_ids), *logged)
    args = (timestamp_ms(), in_progress_ms, owner, entry, log_ttl, *job_ids)
    reply = yield Call(((keys, args),), script=CLAIM)
    return [(_text(reply[i]), int(float(reply[i + 1]))) for i in range(0, len(reply), 2)]


def _with_trace(
    dumps: Callable[[dict[str, Any]], bytes], carrier: dict[str, str], data: dict[str, Any]
) -> bytes:
    """arq's job dict serialized with a trace context: an extra key, which arq's deserializer ignores
    (``data`` is the dict arq's ``serialize_job`` makes for this one call)."""
    data[PAYLOAD_KEY] = carrier
    return dumps(data)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
