"""Worker heartbeats in Redis and the recovery of the jobs of a lost worker; no ORM, no worker class.

Each django-arq worker has an id and, under django-arq's own prefix:

- ``django-arq:worker:<id>``: a hash describing it (host, pid, alias, queues, started, jobs running,
  done and failed, last beat, version; ``state`` "lost" once recovered), living ``ENTRY_TTL``
  seconds after its last write, so that dead workers' entries vanish;
- ``django-arq:worker:<id>:running``: the ids of the jobs it claimed (added by the claim script
  itself, so a job is listed from the moment it is claimed; finished ones are dropped at a beat);
- ``django-arq:workers:<queue>``: a sorted set of the live workers of a queue, scored by their last
  beat (Redis time, milliseconds), and ``django-arq:workers-lost:<queue>``, the lost ones by the
  time they were found lost.

A django-arq worker sets arq's in-progress key of a job it claims to its own id (a plain arq worker
sets ``1``; arq only checks that the key exists). Recovery, run by live workers at each beat, is one
script: it takes the workers of the queue whose last beat is older than ``lost_after``, moves each
to the lost set (so exactly one caller recovers it), and for each job on its running list whose
in-progress key still holds that worker's id, deletes the key: the job, still in the queue at its
old score, is due again, and arq's retry counter, raised when it started, counts the lost run as a
try (arq fails the job at its next start if no try is left). Jobs a plain arq worker runs, or that
another worker claimed since, are never touched.
"""

from __future__ import annotations

import json
import os
import socket
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .arq_internals import in_progress_key_prefix, job_key_prefix, retry_key_prefix
from .protocol import Call, Op, Script

__all__ = [
    "ENTRY_TTL",
    "LOST_AFTER",
    "LostJob",
    "WorkerEntry",
    "beat",
    "beat_interval",
    "leave",
    "lost_after_problem",
    "new_worker_id",
    "read_workers",
    "recover_lost",
    "running_key",
]

PREFIX = "django-arq:worker:"
LIVE_PREFIX = "django-arq:workers:"
LOST_PREFIX = "django-arq:workers-lost:"
#: Default seconds without a heartbeat after which a worker counts as lost (``WORKER["LOST_AFTER"]``).
LOST_AFTER = 15.0
#: Seconds a worker's entry lives after its last write (a lost worker stays listed this long).
ENTRY_TTL = 24 * 3600
#: At most this many lost workers are kept in a queue's lost set.
LOST_KEPT = 100
#: Most lost workers one recovery call takes (the next beat takes the rest).
RECOVER_BATCH = 20


def lost_after_problem(value: Any) -> str | None:
    """Why a ``LOST_AFTER`` value cannot be used, or None."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 1 <= value <= 86400:
        return "WORKER['LOST_AFTER'] must be a number of seconds from 1 to 86400"
    return None


def beat_interval(lost_after: float) -> float:
    """Seconds between two beats: a third of ``lost_after``, so a worker misses several beats first."""
    return lost_after / 3


def new_worker_id() -> str:
    """A worker id unique across hosts and restarts: host, pid, random (at most 64 characters)."""
    return f"{socket.gethostname()[:40]}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def running_key(worker_id: str) -> str:
    """The set of the job ids a worker claimed."""
    return f"{PREFIX}{worker_id}:running"


_NOW = "local t = redis.call('TIME')\nlocal now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"

# KEYS: entry, running set, live set.  ARGV: ttl s, in-progress prefix, owner id, job prefix,
# n fields, field/value pairs, then the ids of jobs done since the last beat.  Drops from the
# running set the done jobs this worker does not run again (its id in the in-progress key, and a
# payload: a finished cron job keeps its in-progress key a while), refreshes the entry, returns
# Redis time (ms).
BEAT = Script(
    _NOW
    + """
local n = tonumber(ARGV[5])
local fields = {}
for i = 6, 5 + 2 * n do fields[#fields + 1] = ARGV[i] end
for i = 6 + 2 * n, #ARGV do
  local id = ARGV[i]
  if redis.call('GET', ARGV[2] .. id) ~= ARGV[3] or redis.call('EXISTS', ARGV[4] .. id) == 0 then
    redis.call('SREM', KEYS[2], id)
  end
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'state', 'live', 'last_beat', now, unpack(fields))
redis.call('EXPIRE', KEYS[1], ARGV[1])
if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('EXPIRE', KEYS[2], ARGV[1]) end
redis.call('ZADD', KEYS[3], now, ARGV[3])
redis.call('EXPIRE', KEYS[3], ARGV[1])
return now
"""
)

# KEYS: live set, lost set, queue.  ARGV: lost after ms, caller id, ttl s, kept, batch, entry prefix,
# in-progress prefix, retry prefix, job prefix.  Returns {worker id, job id, tries so far, ...}.
RECOVER = Script(
    _NOW
    + """
local found = {}
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[1]), 'LIMIT', 0, ARGV[5])
for _, wid in ipairs(dead) do
  if wid ~= ARGV[2] then
    redis.call('ZREM', KEYS[1], wid)
    redis.call('ZADD', KEYS[2], now, wid)
    local entry = ARGV[6] .. wid
    local running = entry .. ':running'
    local requeued = {}
    for _, job in ipairs(redis.call('SMEMBERS', running)) do
      if redis.call('GET', ARGV[7] .. job) == wid and redis.call('EXISTS', ARGV[9] .. job) == 1 then
        redis.call('DEL', ARGV[7] .. job)
        redis.call('ZADD', KEYS[3], 'NX', now, job)
        local tries = redis.call('GET', ARGV[8] .. job) or '0'
        requeued[#requeued + 1] = job
        found[#found + 1] = wid
        found[#found + 1] = job
        found[#found + 1] = tries
      end
    end
    redis.call('DEL', running)
    redis.call('HSET', entry, 'state', 'lost', 'lost_at', now, 'recovered_by', ARGV[2],
               'requeued', cjson.encode(requeued))
    redis.call('EXPIRE', entry, ARGV[3])
  end
end
redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -1 - tonumber(ARGV[4]))
redis.call('EXPIRE', KEYS[2], ARGV[3])
return found
"""
)


def beat(
    queue_name: str, worker_id: str, info: Mapping[str, Any], done: Iterable[str], ttl: int = ENTRY_TTL
) -> Op[int]:
    """Write a worker's heartbeat: its entry with ``info`` (JSON-encoded values); returns Redis time (ms)."""
    pairs: list[Any] = []
    for key, value in info.items():
        pairs += [key, json.dumps(value)]
    keys = (PREFIX + worker_id, running_key(worker_id), LIVE_PREFIX + queue_name)
    args = (ttl, in_progress_key_prefix, worker_id, job_key_prefix, len(info), *pairs, *done)
    reply = yield Call(((keys, args),), script=BEAT)
    return int(reply)


def leave(queue_name: str, worker_id: str) -> Op[None]:
    """A worker stopping cleanly: its entry, running list and place in the live set go."""
    yield Call(
        (
            ("DEL", PREFIX + worker_id, running_key(worker_id)),
            ("ZREM", LIVE_PREFIX + queue_name, worker_id),
        ),
        transaction=True,
    )


@dataclass(frozen=True)
class LostJob:
    """A job put back in its queue because its worker was lost; ``tries`` is arq's count so far."""

    job_id: str
    worker_id: str
    tries: int


def recover_lost(
    queue_name: str, worker_id: str, lost_after: float, ttl: int = ENTRY_TTL
) -> Op[list[LostJob]]:
    """Recover the jobs of the queue's lost workers (not ``worker_id``'s own); those re-queued."""
    keys = (LIVE_PREFIX + queue_name, LOST_PREFIX + queue_name, queue_name)
    args = (
        int(lost_after * 1000), worker_id, ttl, LOST_KEPT, RECOVER_BATCH,
        PREFIX, in_progress_key_prefix, retry_key_prefix, job_key_prefix,
    )  # fmt: skip
    reply = yield Call(((keys, args),), script=RECOVER)
    texts = [v.decode(errors="replace") if isinstance(v, bytes) else str(v) for v in reply]
    return [LostJob(texts[i + 1], texts[i], _count(texts[i + 2])) for i in range(0, len(texts), 3)]


def _count(text: str) -> int:
    """arq's try count; 0 for a retry key edited by hand into something else."""
    return int(text) if text.isdecimal() and text.isascii() else 0


@dataclass(frozen=True)
class WorkerEntry:
    """What a worker last said of itself, and whether it is live, late or lost."""

    id: str
    state: str  # "live", "late" (a beat missed, not yet lost) or "lost"
    last_beat: datetime | None
    age: float | None  # seconds since the last beat, by Redis's clock
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def running(self) -> list[str]:
        """The jobs it ran at its last beat (for a lost worker: the jobs then re-queued)."""
        value = self.info.get("requeued" if self.info.get("state") == "lost" else "running", [])
        return [str(v) for v in value] if isinstance(value, list) else []

    def get(self, key: str, default: Any = None) -> Any:
        return self.info.get(key, default)


def _ms_time(value: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(value) / 1000, UTC)
    except (TypeError, ValueError, OverflowError):
        return None


def _entry(worker_id: str, raw: Mapping[Any, Any], now_ms: int, lost_after: float) -> WorkerEntry:
    fields = {(k.decode() if isinstance(k, bytes) else k): v for k, v in raw.items()}
    info: dict[str, Any] = {}
    for key, value in fields.items():
        text = value.decode(errors="replace") if isinstance(value, bytes) else str(value)
        try:
            info[key] = json.loads(text)
        except (ValueError, RecursionError):  # edited by hand: kept as text
            info[key] = text
    last = info.get("last_beat")
    age = (now_ms - last) / 1000 if isinstance(last, int) else None
    state = "lost" if info.get("state") == "lost" else "live"
    if state == "live" and age is not None and age > lost_after:
        state = "lost"
    elif state == "live" and age is not None and age > beat_interval(lost_after) * 1.5:
        state = "late"
    return WorkerEntry(worker_id, state, _ms_time(last), age, info)


def read_workers(queue_name: str, lost_after: float = LOST_AFTER) -> Op[list[WorkerEntry]]:
    """The queue's live workers, then its recently lost ones (newest first), in two round trips."""
    reply = yield Call(
        (
            ("TIME",),
            ("ZRANGE", LIVE_PREFIX + queue_name, 0, -1),
            ("ZREVRANGE", LOST_PREFIX + queue_name, 0, -1),
        )
    )
    seconds, micros = (int(v) for v in reply[0])
    now_ms = seconds * 1000 + micros // 1000
    ids: Sequence[str] = [
        v.decode(errors="replace") if isinstance(v, bytes) else v for v in [*reply[1], *reply[2]]
    ]
    ids = list(dict.fromkeys(i for i in ids if "\ufffd" not in i))  # not a worker's id: written by hand
    if not ids:
        return []
    entries = yield Call(tuple(("HGETALL", PREFIX + i) for i in ids))
    if len(ids) == 1:  # a single command's reply comes unwrapped
        entries = [entries]
    return [_entry(i, raw, now_ms, lost_after) for i, raw in zip(ids, entries, strict=True) if raw]
