"""queues/reporting.py: where a report goes from the ctx a worker really gives a job: a plain arq
worker's (arq's pool and the try it runs), and the job ctx behind a django.tasks task's context,
which holds both arq's pool and the worker's store."""

from __future__ import annotations

import uuid
from typing import Any

import redis
import redis.asyncio

from django_arq import report_progress
from django_arq.queues.progress import decode_progress, progress_key
from django_arq.queues.reporting import CTX_KEY, PLAIN_ARQ_TTL_MS, WHILE_RUNNING, RedisProgress, current_job
from tests.core.test_progress_contexts import TaskContext
from tests.core.test_progress_reports import Recorded, job_ctx


async def test_a_plain_arq_workers_ctx_reports_for_the_try_it_runs(
    redis_url: str, redis_client: redis.Redis
) -> None:
    client = redis.asyncio.Redis.from_url(redis_url)
    job_id = f"plain-try-{uuid.uuid4().hex}"
    key = progress_key(job_id)
    ctx: dict[str, Any] = {"job_id": job_id, "job_try": 3, "redis": client}  # a retried job's ctx
    try:
        await report_progress(ctx, 1, 4, "first")
        assert isinstance(ctx[CTX_KEY], RedisProgress)
        stored = decode_progress(redis_client.get(key))
        assert stored is not None and (stored.done, stored.message) == (1, "first")
        assert 60_000 < redis_client.pttl(key) <= PLAIN_ARQ_TTL_MS
        await report_progress(ctx, 2, 4, "second")
        await ctx[CTX_KEY].job_ended(job_id, 60_000)
        stored = decode_progress(redis_client.get(key))
        assert stored is not None and (stored.done, stored.total, stored.message) == (2, 4, "second")
        assert 0 < redis_client.pttl(key) <= 60_000
    finally:
        redis_client.delete(key)
        await client.aclose()


async def test_a_task_context_reports_to_the_workers_store_not_to_arqs_pool(
    redis_url: str, redis_client: redis.Redis
) -> None:
    client = redis.asyncio.Redis.from_url(redis_url)
    reports = Recorded(interval=0)
    job_id = f"task-{uuid.uuid4().hex}"
    ctx = {**job_ctx(reports, job_id), "redis": client}  # manage.py arq_worker's job ctx has both
    token = current_job.set(ctx)
    try:
        await report_progress(TaskContext(job_id), 1, 2)
        assert ctx[CTX_KEY] is reports and reports.stored == [(job_id, 1, WHILE_RUNNING)]
        assert not redis_client.exists(progress_key(job_id))  # no store of its own made for it
    finally:
        current_job.reset(token)
        redis_client.delete(progress_key(job_id))
        await client.aclose()
