"""Fixtures for the audit layer and worker tests: a private queue name per test, cleaned up after."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import redis
from asgiref.sync import SyncToAsync
from django.db import connections


@pytest.fixture
def queue_name(redis_client: redis.Redis) -> Iterator[str]:
    """A queue no other test (nor the shared plain arq workers) reads; its jobs are deleted afterwards."""
    name = f"django-arq-tests:worker:{uuid.uuid4().hex[:12]}"
    yield name
    ids = [i.decode() for i in redis_client.zrange(name, 0, -1)]
    keys = [f"arq:{kind}:{i}" for i in ids for kind in ("job", "result", "retry", "in-progress")]
    redis_client.delete(name, *keys)


@pytest.fixture(autouse=True, scope="session")
def _close_executor_connections() -> Iterator[None]:
    """Close the connection the async ORM opened in asgiref's thread, so the test database can be dropped."""
    yield
    SyncToAsync.single_thread_executor.submit(connections.close_all).result()
