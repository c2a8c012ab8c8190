"""JSON-safe copies of job arguments and results, for records, the HTTP API and the admin.

Values JSON can hold pass through; datetimes, dates, decimals and UUIDs become strings;
exceptions become ``{"exception": "module.Class", "message": "..."}``; anything else becomes
``{"repr": "<repr of the value>"}`` so that nothing is dropped silently. ``json_text`` gives the
same as JSON text, made by the C encoder in one pass when it can (records of every enqueued job),
and storable by every database: a NUL character or a lone surrogate in a string (PostgreSQL's
``jsonb`` refuses both) is written as U+FFFD, the replacement character; a surrogate pair written
as two code points becomes the character it encodes, as JSON reads it.
``job_json`` is the JSON form of a job, shared by the HTTP API and the commands' ``--json``
output: the dataclass field names as keys, times in ISO 8601, ``progress`` in its JSON form.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import json.encoder
import logging
import math
import re
import uuid
from collections.abc import Callable
from decimal import Decimal
from enum import Enum
from typing import Any

from ..queues.describe import class_path, safe_repr, safe_str
from ..queues.jobs import JobMetadata, JobProgress
from ..queues.progress import progress_to_json
from ..queues.serializers import SerializedError

__all__ = ["JsonText", "job_json", "json_text", "jsonable", "storable", "storable_json"]

logger = logging.getLogger("django_arq.records")

MAX_DEPTH = 32
#: Integers longer than this are written as a description: Python converts at most 4,300 digits.
MAX_INT_BITS = 14_000


def jsonable(value: Any, _depth: int = 0) -> Any:
    """A value that ``json.dumps`` accepts and that reads like the original."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        bits = value.bit_length()
        return value if bits <= MAX_INT_BITS else {"repr": f"<int of {bits} bits>"}
    if isinstance(value, float):
        return value if math.isfinite(value) else {"repr": safe_repr(value)}
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
        return {"exception": class_path(cls), "message": safe_str(value)}
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal | uuid.UUID):
        return safe_str(value)
    return {"repr": safe_repr(value)}


def _key(key: Any) -> str:
    """A dict key as ``json.dumps`` writes it (``true``, ``null``, ``1.5``), or else its ``str``."""
    if isinstance(key, str):
        return key
    if key is None or isinstance(key, bool):
        return {None: "null", True: "true", False: "false"}[key]
    if isinstance(key, int):
        return int.__repr__(key)
    if isinstance(key, float):
        if math.isfinite(key):
            return float.__repr__(key)
        return "NaN" if math.isnan(key) else ("Infinity" if key > 0 else "-Infinity")
    return safe_str(key)


class JsonText(str):
    """JSON text made by ``json_text``; the record writer stores it in a JSONField as it is."""

    __slots__ = ()


#: What the C encoder must write exactly as the Python one does before it is used.
_PROBE = {"a": [1, -2.5, None, True, False, 't\u00e9\n"\\'], "b": {"c": []}, "d": dt.date(2024, 1, 2)}


def _python_encoder() -> Callable[[Any], str]:
    """The same in pure Python: ``iterencode`` (unlike ``encode``) never uses the C encoder."""
    encoder = json.JSONEncoder(allow_nan=False, default=jsonable, check_circular=False)

    def encode(value: Any) -> str:
        return "".join(encoder.iterencode(value))

    return encode


def _c_encoder() -> Callable[[Any], str]:
    """``json.dumps`` with ``default=jsonable`` and ``allow_nan=False``, its C encoder made once.

    ``JSONEncoder.encode`` makes a new C encoder on every call, which costs more than encoding
    a job's arguments; this one is made once (no cycle markers: a cycle ends in RecursionError).
    ``c_make_encoder`` is CPython's undocumented accelerator: if it is missing, takes other
    arguments or writes anything else than the Python encoder, the Python encoder is used.
    """
    python = _python_encoder()
    make = getattr(json.encoder, "c_make_encoder", None)  # not in typeshed
    if make is None:
        return python
    try:
        # markers, default, string encoder, indent, separators, sort_keys, skipkeys, allow_nan
        ascii_strings = json.encoder.encode_basestring_ascii
        encoder = make(None, jsonable, ascii_strings, None, ": ", ", ", False, False, False)

        def encode(value: Any) -> str:
            return "".join(encoder(value, 0))

        if encode(_PROBE) == python(_PROBE):
            return encode
        logger.warning("json.encoder.c_make_encoder writes other JSON than json's own: not used")
    except Exception as exc:  # a changed accelerator: the Python encoder does the same
        logger.warning("json.encoder.c_make_encoder cannot be used (%s): JSON is written in Python", exc)
    return python


_encode = _c_encoder()
_encode_in_python = _python_encoder()

#: In JSON text made with ASCII escapes: an escaped backslash (kept, so that what follows it is
#: not read as an escape), a surrogate pair (kept), a lone surrogate or a NUL (replaced).
_UNSTORABLE_ESCAPE = re.compile(
    r"\\\\|\\ud[89ab][0-9a-f]{2}\\ud[c-f][0-9a-f]{2}|\\ud[89a-f][0-9a-f]{2}|\\u0000", re.IGNORECASE
)


def _replace_escape(match: re.Match[str]) -> str:
    escape = match.group()
    return escape if escape == "\\\\" or len(escape) == 12 else "\\ufffd"


def storable_json(text: str) -> str:
    """JSON text (ASCII, as ``json.dumps`` writes it) with NUL and lone surrogates made U+FFFD."""
    if "\\u0000" in text or "\\ud" in text or "\\uD" in text:
        return _UNSTORABLE_ESCAPE.sub(_replace_escape, text)
    return text


def json_text(value: Any) -> JsonText:
    """``json.dumps(jsonable(value))``, storable, in one pass of the C encoder unless the value needs more.

    The encoder calls ``jsonable`` for the values it cannot write itself (datetimes, objects, ...);
    NaN, keys it refuses, integers too long to write and reference cycles send the whole value
    through ``jsonable``.
    """
    try:
        text = _encode(value)
    except (TypeError, ValueError, RecursionError):
        text = _encode_in_python(jsonable(value))
    return JsonText(storable_json(text))


def storable(value: Any) -> Any:
    """``jsonable(value)`` as a record stores it through the ORM: ``json_text``'s JSON, read back."""
    return json.loads(json_text(value))


def job_json(job: JobMetadata, **extra: Any) -> dict[str, Any]:
    """A JSON-safe dict of the job's fields, with ``extra`` keys appended."""
    data = {}
    for field in dataclasses.fields(job):
        value = getattr(job, field.name)
        if isinstance(value, JobProgress):
            value = progress_to_json(value)
        data[field.name] = value.value if isinstance(value, Enum) else jsonable(value)
    data.update(extra)
    return data
