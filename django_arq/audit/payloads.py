"""JSON-safe copies of job arguments and results, for records, the HTTP API and the admin.

Values JSON can hold pass through; datetimes, dates, decimals and UUIDs become strings;
exceptions become ``{"exception": "module.Class", "message": "..."}``; anything else becomes
``{"repr": "<repr of the value>"}`` so that nothing is dropped silently. ``json_text`` gives the
same as JSON text, made by the C encoder in one pass when it can (records of every enqueued job).
``job_json`` is the JSON form of a job, shared by the HTTP API and the commands' ``--json``
output: the dataclass field names as keys, times in ISO 8601.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import json.encoder
import math
import uuid
from collections.abc import Callable
from decimal import Decimal
from enum import Enum
from typing import Any

from ..queues.jobs import JobMetadata
from ..queues.serializers import SerializedError

__all__ = ["JsonText", "job_json", "json_text", "jsonable"]

MAX_DEPTH = 32


def jsonable(value: Any, _depth: int = 0) -> Any:
    """A value that ``json.dumps`` accepts and that reads like the original."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"repr": repr(value)}
    if _depth >= MAX_DEPTH:
        return {"repr": "<nested too deeply>"}
    if isinstance(value, list | tuple):
        return [jsonable(v, _depth + 1) for v in value]
    if isinstance(value, dict):
        return {_key(k): jsonable(v, _depth + 1) for k, v in value.items()}
    if isinstance(value, SerializedError):
        return {"exception": value.type_name, "message": value.message}
    if isinstance(value, BaseException):
        cls = type(value)
        return {"exception": f"{cls.__module__}.{cls.__qualname__}", "message": str(value)}
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    return {"repr": repr(value)}


def _key(key: Any) -> str:
    """A dict key as ``json.dumps`` writes it (``true``, ``null``, ``1.5``), or else its ``str``."""
    if isinstance(key, str):
        return key
    return json.dumps(key) if key is None or isinstance(key, bool | int | float) else str(key)


class JsonText(str):
    """JSON text made by ``json_text``; the record writer stores it in a JSONField as it is."""

    __slots__ = ()


def _c_encoder() -> Callable[[Any], str]:
    """``json.dumps`` with ``default=jsonable`` and ``allow_nan=False``, its C encoder made once.

    ``JSONEncoder.encode`` makes a new C encoder on every call, which costs more than encoding
    a job's arguments; this one is made once (no cycle markers: a cycle ends in RecursionError).
    Where the C accelerator is missing, ``JSONEncoder.encode`` does the same in Python.
    """
    make = getattr(json.encoder, "c_make_encoder", None)  # not in typeshed
    if make is None:  # pragma: no cover - CPython always has it
        return json.JSONEncoder(allow_nan=False, default=jsonable, check_circular=False).encode
    # markers, default, string encoder, indent, separators, sort_keys, skipkeys, allow_nan
    ascii_strings = json.encoder.encode_basestring_ascii
    encoder = make(None, jsonable, ascii_strings, None, ": ", ", ", False, False, False)
    return lambda value: "".join(encoder(value, 0))


_encode = _c_encoder()


def json_text(value: Any) -> JsonText:
    """``json.dumps(jsonable(value))``, in one pass of the C encoder unless the value needs more.

    The encoder calls ``jsonable`` for the values it cannot write itself (datetimes, objects, ...);
    NaN, keys it refuses and reference cycles send the whole value through ``jsonable``.
    """
    try:
        return JsonText(_encode(value))
    except (TypeError, ValueError, RecursionError):
        return JsonText(json.dumps(jsonable(value)))


def job_json(job: JobMetadata, **extra: Any) -> dict[str, Any]:
    """A JSON-safe dict of the job's fields, with ``extra`` keys appended."""
    data = {}
    for field in dataclasses.fields(job):
        value = getattr(job, field.name)
        data[field.name] = value.value if isinstance(value, Enum) else jsonable(value)
    data.update(extra)
    return data
