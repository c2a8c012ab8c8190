"""``create_worker(alias)``: a ``DjangoWorker`` built from an alias's ``ARQ_QUEUES`` settings."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from ..audit.recorder import JobRecorder
from ..audit.rows import records_db
from ..conf import DEFAULT_ALIAS, get_config
from ..function_options import function_options
from ..handler import build_backend
from ..metrics.directory import directory_problem
from ..metrics.switch import metrics_enabled
from ..queues.arq_internals import (
    Function,
)
from ..queues.heartbeats import LOST_AFTER
from ..queues.jobs import check_queue_name
from ..queues.reporting import DEFAULT_INTERVAL

if TYPE_CHECKING:
    pass


from .django_worker import DjangoWorker
from .functions import Coroutine, cron_job, import_setting, job_function, tasks_functions
from .settings import METRICS_ADDR, WORKER_SETTINGS, metrics_port_problem, worker_problems

__all__ = ["create_worker"]


def create_worker(
    alias: str = DEFAULT_ALIAS,
    *,
    queue_name: str | None = None,
    burst: bool = False,
    metrics_port: int | None = None,
    **overrides: Any,
) -> DjangoWorker:
    """A worker for ``ARQ_QUEUES[alias]``; ``overrides`` are arq ``Worker`` arguments (``max_jobs=...``).

    With metrics on, its jobs are counted; with ``metrics_port`` (else ``WORKER["METRICS_PORT"]``)
    it has a ``metrics_server`` to start (``arq_worker`` does).
    """
    config = get_config(alias)
    settings = config.worker
    if metrics_port is not None:
        if problem := metrics_port_problem(metrics_port):
            raise ImproperlyConfigured(f"metrics_port {problem}")
        settings = {**settings, "METRICS_PORT": metrics_port}
    problems = worker_problems(settings)
    if problems:
        raise ImproperlyConfigured(f"ARQ_QUEUES[{alias!r}]: " + "; ".join(problems))
    backend = build_backend(config)
    redis_settings, location = backend.redis_settings, backend.location
    serializer = backend.serializer
    backend.close()
    if redis_settings is None:
        raise ImproperlyConfigured(f"alias {alias!r} uses {config.backend}, which has no Redis for a worker")

    options = [function_options(entry) for entry in settings.get("FUNCTIONS", [])]
    functions: list[Function | Coroutine] = [job_function(o) for o in options]
    functions += tasks_functions(alias)
    cron_jobs = [cron_job(entry) for entry in settings.get("CRON_JOBS", [])]
    if not functions and not cron_jobs:
        raise ImproperlyConfigured(f"ARQ_QUEUES[{alias!r}]['WORKER'] has no FUNCTIONS or CRON_JOBS to run")
    queue = check_queue_name(queue_name or settings.get("QUEUE_NAME") or config.default_queue_name)

    kwargs: dict[str, Any] = {
        arg: settings.get(key, default) for key, (arg, default) in WORKER_SETTINGS.items()
    }
    kwargs["progress_interval"] = float(settings.get("PROGRESS_INTERVAL", DEFAULT_INTERVAL))
    recycling = {
        "max_jobs_per_process": overrides.pop("max_jobs_per_process", settings.get("MAX_JOBS_PER_PROCESS")),
        "max_memory": overrides.pop("max_memory", settings.get("MAX_MEMORY")),
    }
    kwargs.update(overrides)
    recorder = None
    if config.audit:
        recorder = JobRecorder(
            alias,
            queue,
            flush_interval=float(settings.get("RECORD_FLUSH_INTERVAL", 0.2)),
            batch_size=int(settings.get("RECORD_BATCH_SIZE", 500)),
            deserializer=serializer.loads,
            using=records_db(),
        )
    hooks = {
        key.lower(): import_setting(settings[key], key)
        for key in ("ON_STARTUP", "ON_SHUTDOWN")
        if key in settings
    }
    return DjangoWorker(
        functions,
        **_metrics(alias, queue, settings, serializer.loads),
        alias=alias,
        location=location,
        lost_after=float(settings.get("LOST_AFTER", LOST_AFTER)),
        **recycling,
        recorder=recorder,
        retry_policies={o.path: o.retry for o in options if o.retry.retry_on},
        cron_jobs=cron_jobs,
        queue_name=queue,
        redis_settings=redis_settings,
        burst=burst,
        job_serializer=serializer.dumps,
        job_deserializer=serializer.loads,
        timezone=timezone.get_default_timezone(),
        tracing=config.tracing,
        **hooks,
        **kwargs,
    )


def _metrics(alias: str, queue: str, settings: Mapping[str, Any], loads: Any) -> dict[str, Any]:
    """The worker's ``metrics`` and ``metrics_server`` arguments: none while metrics are off;
    ``ImproperlyConfigured`` if they are on and the worker could not record them."""
    if not metrics_enabled():
        return {}
    if problem := directory_problem():
        raise ImproperlyConfigured(problem)
    from ..metrics.exposition import MetricsServer
    from ..metrics.jobs import JobMetrics

    arguments: dict[str, Any] = {"metrics": JobMetrics(alias, queue, deserializer=loads)}
    port = settings.get("METRICS_PORT")
    if port is not None:
        addr = settings.get("METRICS_ADDR", METRICS_ADDR)
        arguments["metrics_server"] = MetricsServer(port, addr, lambda: [(alias, [queue])])
    return arguments
