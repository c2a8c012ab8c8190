"""Building a worker from WORKER settings, without running it."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from arq.cron import CronJob
from django.core.exceptions import ImproperlyConfigured
from django.test.utils import override_settings

from django_arq.worker import DjangoWorker, create_worker, worker_problems


def build(**worker: Any) -> DjangoWorker:
    from django.conf import settings

    queues: dict[str, dict[str, Any]] = getattr(settings, "ARQ_QUEUES")  # noqa: B009 - typed
    alias = {**queues["default"], "WORKER": worker}
    with override_settings(ARQ_QUEUES={**queues, "default": alias}):
        return create_worker(handle_signals=False)


def test_settings_map_to_arq() -> None:
    worker = build(
        FUNCTIONS=["tests.jobs.add", "tests.jobs.sync_add"],
        MAX_JOBS=3, JOB_TIMEOUT=7, KEEP_RESULT=60, MAX_TRIES=2, POLL_DELAY=0.1, QUEUE_NAME="elsewhere",
        HEALTH_CHECK_INTERVAL=30, RECORD_FLUSH_INTERVAL=0.5, PROGRESS_INTERVAL=1.5,
    )  # fmt: skip
    assert set(worker.functions) == {"tests.jobs.add", "tests.jobs.sync_add"}
    assert (worker.max_jobs, worker.job_timeout_s, worker.keep_result_s, worker.max_tries) == (3, 7, 60, 2)
    assert (worker.poll_delay_s, worker.queue_name, worker.health_check_interval) == (0.1, "elsewhere", 30)
    assert worker.allow_abort_jobs is True  # default on
    assert worker.recorder is not None and worker.recorder.flush_interval == 0.5
    assert worker.job_serializer is not None
    assert worker.progress_interval == 1.5


def test_the_worker_names_its_redis_as_the_alias_backend_does_password_hidden() -> None:
    from django.conf import settings

    queues: dict[str, dict[str, Any]] = getattr(settings, "ARQ_QUEUES")  # noqa: B009 - typed
    url = settings.REDIS_URL.replace("redis://", "redis://:hunter2@", 1)
    alias = {**queues["default"], "REDIS_URL": url, "WORKER": {"FUNCTIONS": ["tests.jobs.add"]}}
    with override_settings(ARQ_QUEUES={**queues, "default": alias}):
        worker = create_worker(handle_signals=False)
    assert worker.location == settings.REDIS_URL.replace("redis://", "redis://:***@", 1)


def test_queue_defaults_to_the_alias_queue(settings) -> None:  # type: ignore[no-untyped-def]
    worker = build(FUNCTIONS=["tests.jobs.add"], ALLOW_ABORT_JOBS=False)
    assert worker.queue_name == settings.TEST_QUEUE
    assert worker.allow_abort_jobs is False


async def test_sync_functions_run_off_the_loop() -> None:
    worker = build(FUNCTIONS=["tests.jobs.sync_add"])
    fn = worker.functions["tests.jobs.sync_add"]
    ctx = {"job_id": "x", "job_try": 1, "enqueue_time": None}
    assert asyncio.iscoroutinefunction(fn.coroutine)
    assert await fn.coroutine(ctx, 2, 3) == 5
    worker.sync_executor.shutdown()


def test_cron_jobs_from_dicts_and_paths() -> None:
    worker = build(
        FUNCTIONS=["tests.jobs.add"],
        CRON_JOBS=[{"FUNCTION": "tests.worker.jobs.sync_tick", "MINUTE": {0, 30}, "RUN_AT_STARTUP": True}],
    )
    (job,) = worker.cron_jobs
    assert isinstance(job, CronJob)
    assert (job.name, job.minute, job.run_at_startup) == ("cron:tests.worker.jobs.sync_tick", {0, 30}, True)
    assert asyncio.iscoroutinefunction(job.coroutine)  # the sync function, run off-loop


@pytest.mark.parametrize(
    ("worker", "message"),
    [
        ({"FUNCTIONS": "tests.jobs.add"}, "list of dotted paths"),
        ({"FUNCTIONS": ["tests.jobs.add"], "MAX_JOBZ": 1}, "unknown keys ['MAX_JOBZ']"),
        ({"FUNCTIONS": ["tests.jobs.add"], "MAX_JOBS": 0}, "['MAX_JOBS'] must be a whole number from 1 to"),
        ({"FUNCTIONS": ["tests.jobs.nope"]}, "cannot import function 'tests.jobs.nope'"),
        *(
            ({"FUNCTIONS": ["tests.jobs.add"], "PROGRESS_INTERVAL": bad}, "a number of seconds from 0")
            for bad in (-1, float("nan"), 10**6, "0.2", True, None)
        ),
        ({}, "no FUNCTIONS or CRON_JOBS"),
        ({"CRON_JOBS": [{"MINUTE": 1}]}, "a dotted path or a dict with FUNCTION"),
    ],
)
def test_bad_settings_are_reported(worker: dict[str, Any], message: str) -> None:
    with pytest.raises(ImproperlyConfigured, match=re.escape(message)):
        build(**worker)


def test_worker_problems_for_system_checks() -> None:
    assert worker_problems({"FUNCTIONS": ["a.b"], "MAX_JOBS": 5}) == []
    assert worker_problems({"FUNCTIONS": ["a.b"], "PROGRESS_INTERVAL": 0}) == []
    assert worker_problems({"FUNCTIONS": [1]}) == [
        "a WORKER['FUNCTIONS'] entry must be a dotted path or a dict, not int"
    ]
    assert worker_problems({"FUNCTIONS": "a.b"}) == [
        "WORKER['FUNCTIONS'] must be a list of dotted paths or dicts"
    ]


@pytest.mark.django_db(transaction=True)
async def test_the_worker_pool_packs_commands_in_c() -> None:
    """arq's pool, made by the worker's main(), sends every command packed by hiredis."""
    from django_arq.queues.connection import PackedByHiredis

    worker = create_worker(queue_name=f"build-{id(object())}", burst=True, handle_signals=False)
    await worker.main()  # an empty queue: a burst run returns at once
    try:
        pool = worker.pool.connection_pool
        assert issubclass(pool.connection_class, PackedByHiredis)
        assert all(isinstance(c, PackedByHiredis) for c in pool._available_connections)
        assert pool._available_connections
    finally:
        await worker.close()
