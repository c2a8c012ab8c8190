"""Worker heartbeats in Redis and the recovery of the jobs of a lost worker; no ORM, no worker class.

Each django-arq worker has an id and, under django-arq's own prefix:

- ``django-arq:worker:<id>``: a hash describing it (host, pid, alias, queues, started, jobs running,
  done and failed, last beat, version; ``state`` "lost" once recovered), living ``ENTRY_TTL``
  seconds after it was last written whole (at least every ``REWRITE_AFTER`` seconds of the worker's
  ``Heartbeat``), so that dead workers' entries vanish;
- ``django-arq:worker:<id>:running``: the ids of the jobs it claimed (added by the claim script
  itself, so a job is listed from the moment it is claimed; finished ones are dropped at a beat);
- ``django-arq:workers:<queue>``: a sorted set of the live workers of a queue, scored by their last
  beat (Redis time, milliseconds), and ``django-arq:workers-lost:<queue>``, the lost ones by the
  time they were found lost.

A django-arq worker sets arq's in-progress key of a job it claims to its own id (a plain arq worker
sets ``1``; arq only checks that the key exists). Recovery, run by live workers as part of their
beat (one script): it takes the workers of the queue whose last beat is older than ``lost_after``,
moves each to the lost set (so exactly one caller recovers it), and for each job on its running
list whose in-progress key still holds that worker's id, deletes the key: the job, still in the
queue at its old score, is due again (idle workers are woken as by an enqueue), and arq's retry
counter, raised when it started, counts the lost run as a try (arq fails the job at its next start
if no try is left). Jobs a plain arq worker runs, or that another worker claimed since, are never
touched.
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
from .wakeup import wake_channel

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

# KEYS: entry, running set, live set, lost set.  ARGV: ttl s, in-progress prefix, owner id, job prefix,
# write ("1": the whole entry), lost after ms ("0": no recovery), kept, batch, entry prefix, retry
# prefix, wake channel, queue, n fields, field/value pairs, then the ids of jobs done since the last
# beat.
#
# The beat: drops from the running set the done jobs this worker does not run again (its id in the
# in-progress key, and a payload: a finished cron job keeps its in-progress key a while), moves the
# worker's score in the live set to Redis time and its entry's last beat. The whole entry, and the
# keys' lifetimes, are written only when asked, or when the entry or the worker's place in the live
# set was gone (a new worker, or one taken for lost): an idle worker's beat and recovery check are
# four commands in one call.
#
# The recovery: takes the workers of the queue whose last beat is older than ``lost after``, moves
# each to the lost set (so exactly one caller recovers it), and for each job on its running list whose
# in-progress key still holds that worker's id, deletes the key; the jobs are due again at once, and
# an enqueue's wake-up is published so that idle workers look. Returns {now, worker id, job id, tries
# so far, ...}.
BEAT = Script(
    _NOW
    + """
local me, entry = ARGV[3], KEYS[1]
local n = tonumber(ARGV[13])
local fields = {}
for i = 14, 13 + 2 * n do fields[#fields + 1] = ARGV[i] end
for i = 14 + 2 * n, #ARGV do
  local id = ARGV[i]
  if redis.call('GET', ARGV[2] .. id) ~= me or redis.call('EXISTS', ARGV[4] .. id) == 0 then
    redis.call('SREM', KEYS[2], id)
  end
end
local new = redis.call('ZADD', KEYS[3], now, me) == 1
if not new then new = redis.call('HSET', entry, 'last_beat', now) == 1 end
if new or ARGV[5] == '1' then
  redis.call('DEL', entry)
  redis.call('HSET', entry, 'state', 'live', 'last_beat', now, unpack(fields))
  redis.call('EXPIRE', entry, ARGV[1])
  redis.call('EXPIRE', KEYS[2], ARGV[1])
  redis.call('EXPIRE', KEYS[3], ARGV[1])
end
local found = {now}
if ARGV[6] == '0' then return found end
local dead = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now - tonumber(ARGV[6]),
                        'WITHSCORES', 'LIMIT', 0, ARGV[8])
if #dead == 0 then return found end
for d = 1, #dead, 2 do
  local wid = dead[d]
  if wid ~= me then
    redis.call('ZREM', KEYS[3], wid)
    redis.call('ZADD', KEYS[4], now, wid)
    local lost = ARGV[9] .. wid
    local running = lost .. ':running'
    local requeued = {}
    for _, job in ipairs(redis.call('SMEMBERS', running)) do
      if redis.call('GET', ARGV[2] .. job) == wid and redis.call('EXISTS', ARGV[4] .. job) == 1 then
        redis.call('DEL', ARGV[2] .. job)
        redis.call('ZADD', ARGV[12], 'NX', now, job)
        local tries = redis.call('GET', ARGV[10] .. job) or '0'
        requeued[#requeued + 1] = job
        found[#found + 1] = wid
        found[#found + 1] = job
        found[#found + 1] = tries
      end
    end
    redis.call('DEL', running)
    redis.call('HSET', lost, 'state', 'lost', 'lost_at', now, 'last_beat', dead[d + 1],
               'recovered_by', me, 'requeued', cjson.encode(requeued))
    redis.call('EXPIRE', lost, ARGV[1])
  end
end
redis.call('ZREMRANGEBYRANK', KEYS[4], 0, -1 - tonumber(ARGV[7]))
redis.call('EXPIRE', KEYS[4], ARGV[1])
if #found > 1 then redis.call('PUBLISH', ARGV[11], ARGV[12]) end
return found
"""
)


@dataclass(frozen=True)
class LostJob:
    """A job put back in its queue because its worker was lost; ``tries`` is arq's count so far."""

    job_id: str
    worker_id: str
    tries: int


def beat(
    queue_name: str,
    worker_id: str,
    info: Mapping[str, Any],
    done: Iterable[str],
    *,
    write: bool = True,
    recover_after: float | None = None,
    ttl: int = ENTRY_TTL,
) -> Op[tuple[int, list[LostJob]]]:
    """Write a worker's heartbeat (``info`` JSON-encoded, written whole if ``write``), then, given
    ``recover_after`` (seconds), recover the jobs of the queue's workers silent that long; returns
    Redis time (ms) and the jobs re-queued."""
    pairs: list[Any] = []
    for key, value in info.items():
        pairs += [key, json.dumps(value)]
    keys = (PREFIX + worker_id, running_key(worker_id), LIVE_PREFIX + queue_name, LOST_PREFIX + queue_name)
    lost_ms = 0 if recover_after is None else max(1, int(recover_after * 1000))
    args = (
        ttl, in_progress_key_prefix, worker_id, job_key_prefix, "1" if write else "0", lost_ms,
        LOST_KEPT, RECOVER_BATCH, PREFIX, retry_key_prefix, wake_channel(queue_name), queue_name,
        len(info), *pairs, *done,
    )  # fmt: skip
    reply = yield Call(((keys, args),), script=BEAT)
    texts = [v.decode(errors="replace") if isinstance(v, bytes) else str(v) for v in reply[1:]]
    lost = [LostJob(texts[i + 1], texts[i], _count(texts[i + 2])) for i in range(0, len(texts), 3)]
    return int(reply[0]), lost


def leave(queue_name: str, worker_id: str) -> Op[None]:
    """A worker stopping cleanly: its entry, running list and place in the live set go."""
    yield Call(
        (
            ("DEL", PREFIX + worker_id, running_key(worker_id)),
            ("ZREM", LIVE_PREFIX + queue_name, worker_id),
        ),
        transaction=True,
    )


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
