"""django-arq: arq job queues as a first-class part of Django."""

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
    "get_queue",
    "queues",
]
