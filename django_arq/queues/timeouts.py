"""A run stopped by its timeout: the error its job's record and its run span give it.

arq runs a job function in a task under ``asyncio.wait_for`` for the function's own timeout, else
the worker's ``job_timeout`` (``arq_internals.run_timeout``): the function sees a cancellation, as
at an abort or a shutdown, and arq fails the job with a ``TimeoutError``. The run span is ended
inside the function's task, before arq knows: an abort is told by arq's aborting set, a shutdown by
the worker, which notes that it is stopping before arq cancels its jobs; any other cancellation of
a run with a timeout is that timeout.
"""

from __future__ import annotations

__all__ = ["timed_out", "timeout_error"]


def timeout_error(timeout_s: float | None) -> TimeoutError:
    """The error of a run that ``timeout_s`` (if known) stopped."""
    return TimeoutError(f"job timed out after {timeout_s}s" if timeout_s else "job timed out")


def timed_out(timeout_s: float | None, stopping: bool) -> TimeoutError | None:
    """The ``timeout_error`` of a cancelled run (not aborted) whose timeout is ``timeout_s`` (None:
    none); None if it has none, or if the worker was ``stopping`` (its shutdown cancelled the run)."""
    return None if timeout_s is None or stopping else timeout_error(timeout_s)
