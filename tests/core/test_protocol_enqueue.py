"""The protocol's enqueue driven directly on Redis, without a queue class or a worker: what it
refuses and names, and what it writes."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import redis
from django.conf import settings

from django_arq import InvalidJob, JobNotQueued, JobSpec
from django_arq.queues.drivers import run_sync
from django_arq.queues.protocol import RedisProtocol
from django_arq.queues.serializers import get_serializer


@pytest.fixture
def queue_name(redis_client: redis.Redis) -> Iterator[str]:
    """A queue of its own; every job it holds is removed afterwards."""
    name = f"{settings.TEST_QUEUE}:protocol-{uuid.uuid4().hex}"
    yield name
    ids = [i.decode() for i in redis_client.zrange(name, 0, -1)] if redis_client.type(name) == b"zset" else []
    redis_client.delete(name, *(f"arq:job:{i}" for i in ids))


def test_unserializable_arguments_name_the_job_and_the_serializer_and_write_nothing(
    queue_name: str, redis_client: redis.Redis
) -> None:
    protocol = RedisProtocol(get_serializer("json"), queue_name)
    fine = JobSpec("tests.jobs.add", (1, 2), job_id=f"fine-{uuid.uuid4().hex}")
    bad = JobSpec("tests.jobs.echo", (object(),), job_id=f"bad-{uuid.uuid4().hex}")
    with pytest.raises(JobNotQueued) as info:
        run_sync(protocol.enqueue([fine, bad]), redis_client, "test")
    assert info.value.job_id == bad.job_id
    assert str(info.value).startswith(
        "cannot serialize the arguments of 'tests.jobs.echo' with the json serializer: "
    )
    assert redis_client.zcard(queue_name) == 0
    assert not redis_client.exists(f"arq:job:{fine.job_id}", f"arq:job:{bad.job_id}")


def test_a_queue_key_of_another_type_is_named_in_the_refusal(
    queue_name: str, redis_client: redis.Redis
) -> None:
    redis_client.set(queue_name, b"not a sorted set")
    protocol = RedisProtocol(get_serializer("pickle"), queue_name)
    with pytest.raises(InvalidJob) as info:
        run_sync(protocol.enqueue([JobSpec("tests.jobs.add", (1, 2))]), redis_client, "test")
    assert str(info.value) == (
        f"Redis key {queue_name!r} is not a queue (it holds another type than a sorted set); "
        "nothing was enqueued"
    )


def test_a_taken_id_is_named_in_the_refusal(queue_name: str, redis_client: redis.Redis) -> None:
    protocol = RedisProtocol(get_serializer("pickle"), queue_name)
    taken = f"taken-{uuid.uuid4().hex}"
    run_sync(protocol.enqueue([JobSpec("tests.jobs.add", (1, 2), job_id=taken)]), redis_client, "test")
    fresh = JobSpec("tests.jobs.add", (3, 4), job_id=f"fresh-{uuid.uuid4().hex}")
    with pytest.raises(JobNotQueued) as info:
        run_sync(protocol.enqueue([fresh, JobSpec("tests.jobs.add", job_id=taken)]), redis_client, "test")
    assert (str(info.value), info.value.job_ids) == (
        f"job id {taken!r} already exist; nothing was enqueued",
        (taken,),
    )
    assert not redis_client.exists(f"arq:job:{fresh.job_id}")
