"""The counters and histograms django-arq exports, in prometheus-client's default registry.

Defined once per process on first import; under ``PROMETHEUS_MULTIPROC_DIR`` prometheus-client
keeps their values in that directory's files, for whichever process is scraped to add up.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

__all__ = [
    "ENQUEUED",
    "ENQUEUE_DURATION",
    "JOB_DURATION",
    "JOB_LABELS",
    "LOST",
    "OUTCOMES",
    "QUEUE_LABELS",
    "QUEUE_WAIT",
    "STARTED",
]

QUEUE_LABELS = ("alias", "queue")
JOB_LABELS = ("alias", "queue", "function")
#: Seconds, from a no-op job to an hour-long one.
JOB_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
#: Seconds, from one Redis round trip to a slow database commit.
ENQUEUE_BUCKETS = (0.0002, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)

ENQUEUED = Counter(
    "django_arq_jobs_enqueued", "Jobs enqueued through get_queue() by this process.", QUEUE_LABELS
)
ENQUEUE_DURATION = Histogram(
    "django_arq_enqueue_duration_seconds",
    "Time of an enqueue call (a bulk enqueue counts once), records included.",
    ("alias",),
    buckets=ENQUEUE_BUCKETS,
)
STARTED = Counter("django_arq_jobs_started", "Jobs a worker started.", JOB_LABELS)
#: How a job run ended, by the name its counter has in ``jobs``.
OUTCOMES = {
    "succeeded": Counter("django_arq_jobs_succeeded", "Jobs that returned.", JOB_LABELS),
    "failed": Counter(
        "django_arq_jobs_failed", "Jobs that failed (raised, timed out, or could not start).", JOB_LABELS
    ),
    "aborted": Counter("django_arq_jobs_aborted", "Jobs aborted, running or before start.", JOB_LABELS),
    "retried": Counter("django_arq_jobs_retried", "Runs that put the job back in the queue.", JOB_LABELS),
}
LOST = Counter("django_arq_jobs_lost", "Jobs whose worker died while running them.", QUEUE_LABELS)
JOB_DURATION = Histogram(
    "django_arq_job_duration_seconds", "Run time of a job function.", JOB_LABELS, buckets=JOB_BUCKETS
)
QUEUE_WAIT = Histogram(
    "django_arq_job_queue_wait_seconds",
    "Time from when a job was due (enqueued, or its deferral or retry delay over) to its start.",
    JOB_LABELS,
    buckets=JOB_BUCKETS,
)
