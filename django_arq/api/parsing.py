"""Reading and validating API input: the JSON body of an enqueue, and the query of a job URL.

Every problem becomes an ``ApiError`` (400, 413 or 415) naming the field concerned; nothing is
enqueued or looked up until the whole request is valid.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.http import HttpRequest

from ..conf import DEFAULT_ALIAS, allowed_tasks, queue_settings
from ..queues.jobs import JobSpec, is_valid_job_id, reserved_key_owner
from .errors import ApiError

__all__ = [
    "DEFAULT_MAX_BODY_SIZE",
    "DEFAULT_MAX_WAIT",
    "EnqueueRequest",
    "JobQuery",
    "max_wait",
    "parse_enqueue",
    "parse_job_query",
    "read_json",
]

#: ``ARQ_API_MAX_BODY_SIZE``: the largest request body accepted, in bytes.
DEFAULT_MAX_BODY_SIZE = 256 * 1024
#: ``ARQ_API_MAX_WAIT``: the longest ``?wait=`` / ``?timeout=`` accepted, in seconds.
DEFAULT_MAX_WAIT = 30.0

#: The deepest nesting of arrays and objects accepted in a body (the body itself is level 1):
#: deep enough for any job's arguments, well within what every serializer and reader can take
#: (the interpreter's recursion limit, which each reaches at a different depth, is not).
MAX_JSON_DEPTH = 256

#: The longest ``defer_by`` accepted: a hundred years (a due time Redis and ``datetime`` can hold).
MAX_DEFER_BY = 100 * 365.25 * 24 * 3600
#: The longest queue name, alias or task name accepted (the JobRecord columns' length).
NAME_MAX_LENGTH = 255
#: Printable text: no control characters (C0, DEL, C1) and no lone surrogates, which Redis keys and
#: database columns cannot hold as given.
_PRINTABLE = re.compile(r"[^\x00-\x1f\x7f-\x9f\ud800-\udfff]+")

ENQUEUE_FIELDS = ("name", "args", "kwargs", "queue", "alias", "job_id", "defer_by")


def max_body_size() -> int:
    return int(getattr(settings, "ARQ_API_MAX_BODY_SIZE", DEFAULT_MAX_BODY_SIZE))


def max_wait() -> float:
    return float(getattr(settings, "ARQ_API_MAX_WAIT", DEFAULT_MAX_WAIT))


def _too_large(limit: int) -> ApiError:
    return ApiError(413, "body_too_large", f"the request body is larger than {limit} bytes")


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object, refused if a key appears twice: which one counts differs between parsers (a
    proxy that checks the first would let the last through)."""
    data = dict(pairs)
    if len(data) < len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise ValueError(f"the key {key[:50]!r} appears twice in one object")
            seen.add(key)
    return data


def _too_deep() -> ApiError:
    return ApiError(
        400, "invalid_json", f"the JSON body is nested too deeply (at most {MAX_JSON_DEPTH} levels)"
    )


def read_json(request: HttpRequest) -> dict[str, Any]:
    """The request body as a JSON object; 413 if too large, 415 if not JSON, 400 if malformed."""
    limit = max_body_size()
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        raise _too_large(limit)
    body = request.read(limit + 1)  # a chunked body has no Content-Length: never read past the limit
    if len(body) > limit:
        raise _too_large(limit)
    if not body:
        raise ApiError(400, "invalid_json", "the body is not valid JSON: it is empty")
    if request.content_type != "application/json":
        raise ApiError(415, "unsupported_media_type", "send the body as Content-Type: application/json")
    try:
        data = json.loads(body, object_pairs_hook=_object)
    except RecursionError:
        raise _too_deep() from None
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        raise ApiError(400, "invalid_json", f"the body is not valid JSON: {exc}") from None
    if _deeper_than(data, MAX_JSON_DEPTH):
        raise _too_deep()
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_body", "the body must be a JSON object")
    return data


def _deeper_than(data: Any, limit: int) -> bool:
    """Whether arrays and objects nest more than ``limit`` levels deep in ``data`` (without recursion)."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
        for child in children:
            if isinstance(child, dict | list):
                if depth == limit:
                    return True
                stack.append((child, depth + 1))
    return False


def _invalid(field: str, message: str) -> ApiError:
    return ApiError(400, "invalid_field", f"{field!r} {message}")


def _name(field: str, value: Any) -> str | None:
    """A name-like value (queue, alias, task, job id): None, or a non-empty string of printable text."""
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise _invalid(field, "must be a non-empty string")
    if len(value) > NAME_MAX_LENGTH:
        raise _invalid(field, f"must be at most {NAME_MAX_LENGTH} characters long")
    if not _PRINTABLE.fullmatch(value):
        raise _invalid(field, "must not contain control characters or lone surrogates")
    return value


def _string(data: dict[str, Any], field: str) -> str | None:
    return _name(field, data.get(field))


def _queue(value: str | None) -> str | None:
    owner = None if value is None else reserved_key_owner(value)
    if owner is not None:  # a "queue" of such a name would write into them (e.g. ``arq:abort``)
        raise _invalid("queue", f"names one of {owner}'s own Redis keys ({value!r}), not a queue")
    return value


def _alias(value: str | None) -> str:
    alias = value or DEFAULT_ALIAS
    if alias not in queue_settings():
        raise ApiError(400, "unknown_alias", f"there is no queue alias {alias!r}")
    return alias


def _job_id(value: str | None) -> str | None:
    # "." and ".." would be a URL's dot-segments: /arq/jobs/../ is not the job's URL.
    if value is not None and (not is_valid_job_id(value) or value in (".", "..")):
        raise ApiError(
            400, "invalid_job_id", "a job id is 1-200 letters, digits or . _ : @ + -, and not . or .."
        )
    return value


#: A number of seconds in a query string, as JSON writes a number >= 0 (no sign, space, ``_``,
#: ``inf`` or ``nan``, which ``float()`` would also read).
_QUERY_NUMBER = re.compile(r"(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?", re.ASCII)


def _query_seconds(field: str, text: str, maximum: float) -> float:
    """``?wait=`` or ``?timeout=``: a number of seconds, written as JSON writes numbers."""
    if not _QUERY_NUMBER.fullmatch(text):
        raise _invalid(field, "must be a number of seconds >= 0")
    return _seconds(field, float(text), maximum)


def _seconds(field: str, value: Any, maximum: float) -> float:
    # A JSON integer may be too large for a float (math.isfinite would raise): only floats can be
    # infinite or NaN, and an int of any size compares with the maximum exactly.
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or (isinstance(value, float) and not math.isfinite(value))
        or value < 0
    ):
        raise _invalid(field, "must be a number of seconds >= 0")
    if value > maximum:
        raise _invalid(field, f"must be at most {maximum:g} seconds")
    return float(value)


@dataclass(frozen=True)
class EnqueueRequest:
    """A valid enqueue request: the alias to use and the job to add."""

    alias: str
    spec: JobSpec


def parse_enqueue(data: dict[str, Any]) -> EnqueueRequest:
    """Validate the body of ``POST jobs/``."""
    unknown = sorted(set(data) - set(ENQUEUE_FIELDS))
    if unknown:
        raise ApiError(400, "unknown_field", f"unknown fields {unknown}; allowed: {list(ENQUEUE_FIELDS)}")
    if "name" not in data:
        raise _invalid("name", "is required")
    name = _string(data, "name")
    args = data.get("args", [])
    if not isinstance(args, list):
        raise _invalid("args", "must be a JSON array")
    kwargs = data.get("kwargs", {})
    if not isinstance(kwargs, dict):
        raise _invalid("kwargs", "must be a JSON object")
    alias = _alias(_string(data, "alias"))
    if name not in allowed_tasks(alias):
        raise ApiError(
            400, "unknown_task", f"{name!r} is not in ARQ_QUEUES[{alias!r}]['WORKER']['FUNCTIONS']"
        )
    defer_by = data.get("defer_by")
    queue_name = _queue(_string(data, "queue"))
    job_id = data.get("job_id")
    if job_id is not None and not isinstance(job_id, str):
        raise _invalid("job_id", "must be a string")
    _job_id(job_id)
    delay = None if defer_by is None else _seconds("defer_by", defer_by, MAX_DEFER_BY)
    try:
        spec = JobSpec(
            name=str(name),
            args=tuple(args),
            kwargs=kwargs,
            queue_name=queue_name,
            job_id=job_id,
            defer_by=delay,
        )
    except (TypeError, ValueError) as exc:  # the queue layer's own checks (InvalidJob is a ValueError)
        raise ApiError(400, "invalid_job", str(exc)) from None
    return EnqueueRequest(alias, spec)


#: The longest ``?progress=`` accepted: an ISO 8601 time with microseconds and an offset fits well.
PROGRESS_MAX_LENGTH = 64


def _progress_seen(value: str) -> datetime | None:
    """``?progress=``: the ``progress.time`` a caller last saw (empty: it saw no progress yet)."""
    if not value:
        return None
    if len(value) > PROGRESS_MAX_LENGTH:
        raise _invalid("progress", f"must be at most {PROGRESS_MAX_LENGTH} characters long")
    if not _PRINTABLE.fullmatch(value):
        raise _invalid("progress", "must not contain control characters or lone surrogates")
    try:
        seen = datetime.fromisoformat(value)
    except ValueError:
        raise _invalid("progress", "must be the progress.time last seen (ISO 8601), or empty") from None
    if seen.tzinfo is None:
        raise _invalid("progress", "must be a time with its UTC offset, as progress.time gives it")
    return seen


@dataclass(frozen=True)
class JobQuery:
    """Where to find a job (``?alias=&queue=``) and how long to wait for it (``?wait=`` / ``?timeout=``).

    With ``?progress=``, a wait also ends once the job's progress is not the one last seen.
    """

    job_id: str
    alias: str
    queue_name: str | None
    wait: float
    timeout: float | None
    watch_progress: bool = False
    #: The ``progress.time`` the caller last saw; None: no progress yet.
    progress_seen: datetime | None = None


def parse_job_query(request: HttpRequest, job_id: str) -> JobQuery:
    """Validate the job id of the URL and its query string."""
    query = request.GET
    _job_id(job_id)
    unknown = sorted(set(query) - {"alias", "queue", "wait", "timeout", "progress"})
    if unknown:
        raise ApiError(400, "unknown_field", f"unknown query parameters {unknown}")
    timeout = query.get("timeout")
    return JobQuery(
        job_id=job_id,
        alias=_alias(_name("alias", query.get("alias") or None)),
        queue_name=_queue(_name("queue", query.get("queue") or None)),
        wait=_query_seconds("wait", query.get("wait", "0"), max_wait()),
        timeout=None if timeout is None else _query_seconds("timeout", timeout, max_wait()),
        watch_progress="progress" in query,
        progress_seen=_progress_seen(query.get("progress", "")),
    )
