"""django-arq: arq job queues as a first-class part of Django."""

from .audit.on_commit import aenqueue_on_commit, enqueue_on_commit
from .audit.writer import flush_records
from .handler import UnknownFunction, get_queue, queues
from .queues import (
    ArqJobError,
    ArqQueue,
    InvalidJob,
    JobMetadata,
    JobNotFound,
    JobNotQueued,
    JobProgress,
    JobResult,
    JobResultUnavailable,
    JobSpec,
    JobStatus,
    MockArqQueue,
    RedisArqQueue,
    RedisUnavailable,
    report_progress,
    report_progress_sync,
)

__all__ = [
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
    "RedisArqQueue",
    "RedisUnavailable",
    "UnknownFunction",
    "aenqueue_on_commit",
    "enqueue_on_commit",
    "flush_records",
    "get_queue",
    "queues",
    "report_progress",
    "report_progress_sync",
]
