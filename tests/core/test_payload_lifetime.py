"""How long Redis keeps a job's payload: until it is due, plus the protocol's extra time (arq's rule)."""

from __future__ import annotations

import datetime as dt
import uuid

import redis
from django.conf import settings

from django_arq import JobSpec
from django_arq.queues.drivers import run_sync
from django_arq.queues.protocol import RedisProtocol
from django_arq.queues.serializers import get_serializer


def test_a_payload_lives_until_its_job_is_due_and_the_protocol_s_extra_time(
    redis_client: redis.Redis,
) -> None:
    name = f"{settings.TEST_QUEUE}:lifetime-{uuid.uuid4().hex}"
    protocol = RedisProtocol(get_serializer("pickle"), name, expires_extra_ms=60_000)
    spec = JobSpec("tests.jobs.add", (1, 2), defer_by=30)
    [meta] = run_sync(protocol.enqueue([spec]), redis_client, "test")
    try:
        assert 60_000 < redis_client.pttl(f"arq:job:{meta.id}") <= 90_000
    finally:
        redis_client.delete(name, f"arq:job:{meta.id}")


def test_a_job_given_a_time_days_past_is_due_now_and_its_payload_kept(redis_client: redis.Redis) -> None:
    """arq's rule would give it a time to live of the extra time less its lateness: none, so the
    payload expired at once and the job was lost (a task's ``run_after`` two days back, say)."""
    name = f"{settings.TEST_QUEUE}:lifetime-{uuid.uuid4().hex}"
    protocol = RedisProtocol(get_serializer("pickle"), name, expires_extra_ms=60_000)
    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=2)
    [meta] = run_sync(
        protocol.enqueue([JobSpec("tests.jobs.add", (1, 2), defer_until=past)]), redis_client, "test"
    )
    try:
        assert meta.status.value == "queued"
        assert 50_000 < redis_client.pttl(f"arq:job:{meta.id}") <= 60_000
        assert redis_client.zscore(name, meta.id) < dt.datetime.now(dt.UTC).timestamp() * 1000
    finally:
        redis_client.delete(name, f"arq:job:{meta.id}")
