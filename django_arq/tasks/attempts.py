"""The attempt log of a task: a small Redis list per job, so that attempts survive arq retries.

Each run appends ``{"worker_id", "at"}`` to ``django-arq:task-attempts:<job id>``;
``ArqBackend`` reads the list for ``worker_ids``, ``started_at`` and ``last_attempted_at``.
Tasks that start together (a worker starts the jobs of one read at once) append their attempts
with one script call between them.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import cache
from typing import Any

from ..queues.drivers import run_async
from ..queues.protocol import Call, Op, Script

__all__ = ["ATTEMPTS_TTL", "attempts_key", "parse_attempts", "record_attempt", "worker_id"]

#: How long the attempt log of a task is kept after its latest attempt started (seconds).
ATTEMPTS_TTL = 7 * 24 * 3600
ATTEMPTS_PREFIX = "django-arq:task-attempts:"

# Appends one attempt to each task's log and renews the log's expiry; returns, per log, the
# whole list when it holds earlier attempts (a retry), else 0 (a first try: the one entry).
# KEYS: the logs.  ARGV: the expiry in seconds, then one entry per log.
APPEND_ATTEMPTS = Script(
    """
local out = {}
for i = 1, #KEYS do
  local n = redis.call('RPUSH', KEYS[i], ARGV[i + 1])
  redis.call('EXPIRE', KEYS[i], ARGV[1])
  if n == 1 then out[i] = 0 else out[i] = redis.call('LRANGE', KEYS[i], 0, -1) end
end
return out
"""
)

Entry = dict[str, Any]


def attempts_key(job_id: str) -> str:
    """Redis key of the list of attempts of one task."""
    return ATTEMPTS_PREFIX + job_id


def worker_id() -> str:
    """How this worker process appears in ``TaskResult.worker_ids``: ``hostname:pid``."""
    return _worker_id(os.getpid())


@cache
def _worker_id(pid: int) -> str:
    return f"{socket.gethostname()}:{pid}"


def parse_attempts(raw: Sequence[bytes | str]) -> list[Entry]:
    """Decode the attempt log: ``[{"worker_id": ..., "at": datetime}, ...]``, oldest first."""
    attempts = []
    for item in raw:
        data = json.loads(item)
        attempts.append({"worker_id": data["worker_id"], "at": datetime.fromisoformat(data["at"])})
    return attempts


def _append(attempts: Sequence[tuple[str, Entry]]) -> Op[list[list[Entry]]]:
    keys = tuple(attempts_key(job_id) for job_id, _ in attempts)
    entries = (json.dumps({"worker_id": e["worker_id"], "at": e["at"].isoformat()}) for _, e in attempts)
    logs = yield Call(((keys, (ATTEMPTS_TTL, *entries)),), script=APPEND_ATTEMPTS)
    return [[e] if log == 0 else parse_attempts(log) for (_, e), log in zip(attempts, logs, strict=True)]


class _Batch:
    """The attempts appended on one client in one turn of the event loop, sent at the next turn."""

    def __init__(self, redis: Any) -> None:
        self.redis = redis
        self.attempts: list[tuple[str, Entry]] = []
        loop = asyncio.get_running_loop()
        self.logs: asyncio.Future[list[list[Entry]]] = loop.create_future()
        loop.call_soon(self._send)

    def _send(self) -> None:
        del _batches[self.redis]
        sent = asyncio.ensure_future(run_async(_append(self.attempts), self.redis, "the worker's connection"))
        _sending.add(sent)  # the loop keeps only a weak reference to a task
        sent.add_done_callback(self._sent)

    def _sent(self, sent: asyncio.Future[list[list[Entry]]]) -> None:
        _sending.discard(sent)
        if sent.cancelled():
            self.logs.cancel()
        elif (error := sent.exception()) is not None:
            self.logs.set_exception(error)
        else:
            self.logs.set_result(sent.result())


_batches: dict[Any, _Batch] = {}
_sending: set[asyncio.Future[Any]] = set()


async def record_attempt(redis: Any, job_id: str) -> list[Entry]:
    """Append an attempt of this worker, now, to the task's log on ``redis`` (the worker's asyncio
    client), together with the other tasks' of this turn of the loop; return the whole log."""
    batch = _batches.get(redis)
    if batch is None:
        batch = _batches[redis] = _Batch(redis)
    index = len(batch.attempts)
    batch.attempts.append((job_id, {"worker_id": worker_id(), "at": datetime.now(UTC)}))
    logs = await asyncio.shield(batch.logs)  # one task cancelled leaves the others' call alone
    return logs[index]
