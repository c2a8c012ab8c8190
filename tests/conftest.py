"""Shared fixtures: real Redis, real arq workers, both queue backends."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from django.conf import settings
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from tests.helpers import Process, start_arq_worker

# Hypothesis's timing checks measure the machine, not the code: the suite runs on busy machines and
# from fresh clones (where the first text drawn also collects the loaded modules' constants).
hypothesis_settings.register_profile(
    "django-arq", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
hypothesis_settings.load_profile("django-arq")


@pytest.fixture(scope="session")
def redis_url() -> str:
    url: str = settings.REDIS_URL
    client = redis.Redis.from_url(url)
    try:
        client.ping()
    except redis.ConnectionError as exc:  # fail loudly: a missing service is not a skip
        raise RuntimeError(f"the tests need Redis at {url}: {exc}") from exc
    finally:
        client.close()
    return url


@pytest.fixture(scope="session")
def arq_workers(redis_url: str) -> Iterator[dict[str, Process]]:
    """Plain arq workers (arq's CLI, no Django) on the test queue and on a second queue."""
    workers = {
        name: start_arq_worker(redis_url, name) for name in (settings.TEST_QUEUE, settings.TEST_OTHER_QUEUE)
    }
    yield workers
    for worker in workers.values():
        worker.stop()


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture(autouse=True)
def _records_written() -> Iterator[None]:
    """Records a test handed to the background writer are written before the next test starts."""
    yield
    from django_arq.audit.writer import flush_records

    assert flush_records(10), "the background record writer did not catch up"
