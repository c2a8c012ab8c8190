"""A job's state as Redis gives it, copied onto its record: the admin's "Refresh" and ``arq_reconcile``."""

from __future__ import annotations

from ..models import ABORTED, JobRecord
from ..queues.describe import safe_repr
from ..queues.jobs import JobMetadata, JobResult, JobStatus, is_abort_result
from ..queues.text import storable_text
from .payloads import storable

__all__ = ["FORGOTTEN", "State", "apply_state"]

#: What Redis knows about a job: its result, else its metadata, else nothing.
State = JobMetadata | JobResult | None
#: The ``error`` of a record whose job Redis no longer has, when ``apply_state`` marks it.
FORGOTTEN = "not in Redis any more: its result expired or was never kept"


def apply_state(record: JobRecord, state: State, *, mark_forgotten: bool = False) -> list[str]:
    """Copy what Redis knows about a job onto its record (unsaved); returns the names of the fields set.

    Same conventions as the worker's recorder: a successful job's ``error`` is cleared; a failed
    job's is its traceback (kept if the worker wrote one) or the ``repr`` of its exception; an
    aborted job's is ``"aborted"``. A job Redis has forgotten (``state`` None) leaves the record
    as it is, unless ``mark_forgotten``: then its status becomes ``not_found``, with a note in
    ``error`` (kept if it already has one).
    """
    if state is None:
        if not mark_forgotten:
            return []
        record.status = JobStatus.not_found.value
        record.error = record.error or FORGOTTEN
        return ["status", "error"]
    record.status = state.status.value
    fields = ["status"]
    if isinstance(state, JobResult):
        record.start_time, record.finish_time, record.success = (
            state.start_time,
            state.finish_time,
            state.success,
        )
        record.result = storable(state.result)
        if state.success:
            record.error = ""
        elif not record.error:  # keep the traceback a worker may have written
            error = ABORTED if is_abort_result(state.success, state.result) else safe_repr(state.result)
            record.error = storable_text(error)
        fields += ["start_time", "finish_time", "success", "result", "error"]
    return fields
