"""django-arq: arq job queues as a first-class part of Django."""

from .audit.on_commit import aenqueue_on_commit, enqueue_on_commit
from .audit.writer import flush_records
from .handler import get_queue, queues
from .queues import (
    ArqJobError,
    ArqQueue,
    JobMetadata,
    JobNotFound,
    JobNotQueued,
    JobResult,
    JobResultUnavailable,
    JobSpec,
    JobStatus,
    MockArqQueue,
    RedisArqQueue,
    RedisUnavailable,
)

__all__ = [
    "ArqJobError",
    "ArqQueue",
    "JobMetadata",
    "JobNotFound",
    "JobNotQueued",
    "JobResult",
    "JobResultUnavailable",
    "JobSpec",
    "JobStatus",
    "MockArqQueue",
    "RedisArqQueue",
    "RedisUnavailable",
    "aenqueue_on_commit",
    "enqueue_on_commit",
    "flush_records",
    "get_queue",
    "queues",
]
