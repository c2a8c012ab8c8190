"""The ArqQueue interface and its backends; free of the ORM, usable without the audit layer."""

from arq.jobs import JobStatus

from .base import DEFAULT_ABORT_TIMEOUT, ArqQueue, QueueConfig
from .exceptions import (
    ArqJobError,
    InvalidJob,
    JobNotFound,
    JobNotQueued,
    JobResultUnavailable,
    RedisUnavailable,
)
from .jobs import JobMetadata, JobProgress, JobResult, JobSpec
from .mock import MockArqQueue
from .redis import RedisArqQueue
from .reporting import report_progress, report_progress_sync

__all__ = [
    "DEFAULT_ABORT_TIMEOUT",
    "ArqJobError",
    "ArqQueue",
    "InvalidJob",
    "JobMetadata",
    "JobNotFound",
    "JobNotQueued",
    "JobProgress",
    "JobResult",
    "JobResultUnavailable",
    "JobSpec",
    "JobStatus",
    "MockArqQueue",
    "QueueConfig",
    "RedisArqQueue",
    "RedisUnavailable",
    "report_progress",
    "report_progress_sync",
]
