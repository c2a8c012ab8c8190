"""A task's attempt log (``queues.attempts``) from the task's side: reading it back on a retry,
and appending to it for a task whose worker did not log the attempt when it claimed the job (a
task enqueued with an id of another form, by an earlier version). Tasks that start together
append their attempts with one script call between them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from ..queues.attempts import (
    ATTEMPTS_TTL,
    Entry,
    attempts_key,
    encode_entry,
    new_entry,
    parse_attempts,
    worker_id,
)
from ..queues.drivers import run_async
from ..queues.protocol import Call, Op, Script

__all__ = ["ATTEMPTS_TTL", "attempts_key", "parse_attempts", "read_attempts", "record_attempt", "worker_id"]

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


def _append(attempts: Sequence[tuple[str, Entry]]) -> Op[list[list[Entry]]]:
    keys = tuple(attempts_key(job_id) for job_id, _ in attempts)
    entries = (encode_entry(e) for _, e in attempts)
    logs = yield Call(((keys, (ATTEMPTS_TTL, *entries)),), script=APPEND_ATTEMPTS)
    return [[e] if log == 0 else parse_attempts(log) for (_, e), log in zip(attempts, logs, strict=True)]


def _read(job_id: str) -> Op[list[Entry]]:
    log = yield Call((("LRANGE", attempts_key(job_id), 0, -1),))
    return parse_attempts(log)


async def read_attempts(redis: Any, job_id: str) -> list[Entry]:
    """The task's whole attempt log, on ``redis`` (the worker's asyncio client)."""
    return await run_async(_read(job_id), redis, "the worker's connection")


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
    batch.attempts.append((job_id, new_entry()))
    logs = await asyncio.shield(batch.logs)  # one task cancelled leaves the others' call alone
    return logs[index]
