"""The attempt log of a job: who started each of its runs, and when, kept across arq's retries.

A job whose id starts with ``LOGGED_PREFIX`` (``ArqBackend`` gives its tasks such ids) keeps a
Redis list ``django-arq:task-attempts:<job id>`` of ``{"worker_id", "at"}`` entries. A django-arq
worker appends one in the script that claims the job, so that a run costs no round trip of its
own, and hands the entry to the job through its ``ctx`` (``take_logged``); a run that does not
start after all takes it back (``drop_logged``).
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import MutableMapping, Sequence
from datetime import UTC, datetime
from functools import cache
from typing import Any
from uuid import uuid4

from .protocol import Call, Op

__all__ = [
    "ATTEMPTS_TTL",
    "CTX_KEY",
    "LOGGED_PREFIX",
    "attempts_key",
    "drop_logged",
    "encode_entry",
    "is_logged",
    "logged_job_id",
    "new_entry",
    "parse_attempts",
    "take_logged",
    "worker_id",
]

#: How long the attempt log of a job is kept after its latest attempt started (seconds).
ATTEMPTS_TTL = 7 * 24 * 3600
ATTEMPTS_PREFIX = "django-arq:task-attempts:"
#: The start of the ids of the jobs that keep an attempt log.
LOGGED_PREFIX = "django-task-"
#: The key, in a job's ctx, of the attempts its worker logged when it claimed jobs, by job id.
CTX_KEY = "django_arq_attempts"

Entry = dict[str, Any]


def logged_job_id() -> str:
    """A new job id whose job keeps an attempt log."""
    return LOGGED_PREFIX + uuid4().hex


def is_logged(job_id: str) -> bool:
    """Whether the job keeps an attempt log."""
    return job_id.startswith(LOGGED_PREFIX)


def attempts_key(job_id: str) -> str:
    """Redis key of the list of attempts of one job."""
    return ATTEMPTS_PREFIX + job_id


def worker_id() -> str:
    """How this worker process appears in an attempt: ``hostname:pid``."""
    return _worker_id(os.getpid())


@cache
def _worker_id(pid: int) -> str:
    return f"{socket.gethostname()}:{pid}"


def new_entry() -> Entry:
    """An attempt of this worker process, now."""
    return {"worker_id": worker_id(), "at": datetime.now(UTC)}


def encode_entry(entry: Entry) -> str:
    """An entry as the log stores it (JSON, the time in ISO 8601)."""
    return json.dumps({"worker_id": entry["worker_id"], "at": entry["at"].isoformat()})


def parse_attempts(raw: Sequence[bytes | str]) -> list[Entry]:
    """Decode the attempt log: ``[{"worker_id": ..., "at": datetime}, ...]``, oldest first."""
    attempts = []
    for item in raw:
        data = json.loads(item)
        attempts.append({"worker_id": data["worker_id"], "at": datetime.fromisoformat(data["at"])})
    return attempts


def take_logged(ctx: MutableMapping[str, Any], job_id: str) -> Entry | None:
    """The attempt the worker logged for this job when it claimed it, once; None if it logged none."""
    logged = ctx.get(CTX_KEY)
    return logged.pop(job_id, None) if logged is not None else None


def drop_logged(job_id: str) -> Op[None]:
    """Remove the attempt logged at the claim of a run that did not start after all (the last entry:
    the worker that claimed the job holds it)."""
    yield Call((("RPOP", attempts_key(job_id)),))
