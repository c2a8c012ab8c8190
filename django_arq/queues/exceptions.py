"""Errors raised by every ArqQueue backend."""

from __future__ import annotations

__all__ = [
    "ArqJobError",
    "InvalidJob",
    "JobNotFound",
    "JobNotQueued",
    "JobResultUnavailable",
    "RedisUnavailable",
]


class ArqJobError(Exception):
    """Base class of django-arq errors; ``job_id`` names the job concerned, if any."""

    def __init__(self, message: str, job_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.job_id = job_id

    def __str__(self) -> str:
        return self.message


class InvalidJob(ArqJobError, ValueError):
    """A job that cannot be enqueued as asked: a delay out of range, a queue name that is one of
    arq's own keys, text that is not valid. Nothing was written."""


class JobNotQueued(ArqJobError):
    """The job was not added to the queue (duplicate id, unserialisable arguments)."""

    def __init__(self, message: str, job_id: str | None = None, job_ids: tuple[str, ...] = ()) -> None:
        super().__init__(message, job_id)
        self.job_ids = job_ids or ((job_id,) if job_id else ())


class JobNotFound(ArqJobError):
    """No job with this id is queued, running or has a kept result."""


class JobResultUnavailable(ArqJobError):
    """The job exists but has no result yet."""


class RedisUnavailable(ArqJobError):
    """Redis could not be reached or refused the connection; the message names the URL, never its password."""
