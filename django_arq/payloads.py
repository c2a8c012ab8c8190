"""JSON-safe copies of job arguments and results, for records, the HTTP API and the admin.

Values JSON can hold pass through; datetimes, dates, decimals and UUIDs become strings;
exceptions become ``{"exception": "module.Class", "message": "..."}``; anything else becomes
``{"repr": "<repr of the value>"}`` so that nothing is dropped silently.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from decimal import Decimal
from typing import Any

from .queues.serializers import SerializedError

__all__ = ["jsonable"]

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
        return {str(k): jsonable(v, _depth + 1) for k, v in value.items()}
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
