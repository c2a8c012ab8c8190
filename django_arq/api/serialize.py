"""The JSON form of a job, shared by the HTTP API and the commands' ``--json`` output.

Keys are the dataclass field names (``id, name, args, kwargs, enqueue_time, status, queue_name``,
plus ``start_time, finish_time, success, result`` once finished); times are ISO 8601; values JSON
cannot hold are made readable by ``django_arq.payloads.jsonable``.
"""

from __future__ import annotations

import dataclasses
from enum import Enum
from typing import Any

from ..payloads import jsonable
from ..queues.jobs import JobMetadata

__all__ = ["job_json"]


def job_json(job: JobMetadata, **extra: Any) -> dict[str, Any]:
    """A JSON-safe dict of the job's fields, with ``extra`` keys appended."""
    data = {}
    for field in dataclasses.fields(job):
        value = getattr(job, field.name)
        data[field.name] = value.value if isinstance(value, Enum) else jsonable(value)
    data.update(extra)
    return data
