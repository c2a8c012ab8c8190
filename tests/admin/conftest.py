"""Fixtures for the admin tests: users with different permissions, private queues, a plain arq worker."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.utils import timezone

from django_arq.admin.jobs import JobRecordAdmin
from django_arq.models import JobRecord
from tests.helpers import Process, start_arq_worker

WORKER_QUEUE = "django-arq-tests:admin-worker"


def _queue_keys(client: redis.Redis, name: str) -> list[str]:
    ids = [i.decode() for i in client.zrange(name, 0, -1)]
    return [name, *(f"arq:{kind}:{i}" for i in ids for kind in ("job", "result", "retry", "in-progress"))]


@pytest.fixture
def queue_name(redis_client: redis.Redis) -> Iterator[str]:
    """A queue no worker reads: jobs put there stay queued. Deleted afterwards."""
    name = f"django-arq-tests:admin:{uuid.uuid4().hex[:12]}"
    yield name
    redis_client.delete(*_queue_keys(redis_client, name))


@pytest.fixture(scope="session")
def admin_worker(redis_url: str) -> Iterator[Process]:
    """A plain arq worker (no Django) on a queue of its own: it runs, finishes and aborts jobs."""
    worker = start_arq_worker(redis_url, WORKER_QUEUE)
    yield worker
    worker.stop()


@pytest.fixture
def worker_queue(admin_worker: Process, redis_client: redis.Redis) -> Iterator[str]:
    yield WORKER_QUEUE
    ids = redis_client.zrange(WORKER_QUEUE, 0, -1)
    if ids:  # leave the worker's queue empty for the next test (it runs or aborts what it has)
        redis_client.zrem(WORKER_QUEUE, *ids)
        redis_client.delete(*(f"arq:{k}:{i.decode()}" for i in ids for k in ("job", "retry", "in-progress")))


@pytest.fixture(autouse=True)
def _short_abort_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """Waiting 2 s for a worker that is not there makes slow tests; the behaviour is the same."""
    monkeypatch.setattr(JobRecordAdmin, "abort_timeout", 0.3)


def _user(username: str, *perms: str, superuser: bool = False) -> User:
    user = User.objects.create_user(username, password="pw", is_staff=True, is_superuser=superuser)
    for codename in perms:
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label="django_arq", codename=codename)
        )
    return user


@pytest.fixture
def superuser_client(db: None) -> Client:
    client = Client()
    client.force_login(_user("root", superuser=True))
    return client


@pytest.fixture
def viewer_client(db: None) -> Client:
    """Staff with only ``view_jobrecord``."""
    client = Client()
    client.force_login(_user("viewer", "view_jobrecord"))
    return client


@pytest.fixture
def operator_client(db: None) -> Client:
    """Staff with ``view_jobrecord`` and ``operate_jobrecord``, not a superuser."""
    client = Client()
    client.force_login(_user("operator", "view_jobrecord", "operate_jobrecord"))
    return client


@pytest.fixture
def make_record(db: None) -> Callable[..., JobRecord]:
    """A JobRecord written directly (for jobs Redis does not know, or odd payloads)."""

    def make(**fields: Any) -> JobRecord:
        defaults: dict[str, Any] = {
            "job_id": uuid.uuid4().hex,
            "name": "tests.jobs.add",
            "args": [1, 2],
            "kwargs": {},
            "enqueue_time": timezone.now(),
            "queue_name": "django-arq-tests:admin:none",
            "alias": "default",
        }
        return JobRecord.objects.create(**{**defaults, **fields})

    return make
