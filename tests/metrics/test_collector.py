"""Queue gauges read from Redis at scrape time: counts, a long queue, Redis down, hostile names."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.test import override_settings
from prometheus_client import generate_latest

from django_arq import JobSpec, get_queue
from django_arq.metrics.collector import QueueCollector
from django_arq.metrics.exposition import scrape_registry
from django_arq.metrics.labels import MAX_LENGTH, label
from tests.helpers import free_port
from tests.metrics.conftest import samples, value

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("metrics_on")]


def scrape(targets: Any) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return samples(generate_latest(scrape_registry(targets)).decode())


def test_queued_and_deferred_jobs_of_a_long_queue(queue_name: str) -> None:
    queue = get_queue()
    queue.enqueue_many_sync([JobSpec("tests.jobs.add", (i, 1), queue_name=queue_name) for i in range(20_000)])
    queue.enqueue_many_sync(
        [JobSpec("tests.jobs.add", (i, 1), queue_name=queue_name, defer_by=3600) for i in range(3)]
    )
    start = time.perf_counter()
    scraped = scrape(lambda: [("default", [queue_name])])
    took = time.perf_counter() - start
    where = {"alias": "default", "queue": queue_name}
    assert value(scraped, "django_arq_jobs_queued", **where) == 20_000
    assert value(scraped, "django_arq_jobs_deferred", **where) == 3
    assert value(scraped, "django_arq_jobs_in_progress", **where) == 0
    assert value(scraped, "django_arq_queue_up", alias="default") == 1
    assert took < 5, f"a scrape of a 20,000-job queue took {took:.1f} s"  # bounded: no per-job reads


def test_an_alias_whose_redis_is_down_is_reported_and_others_still_counted(settings, queue_name: str) -> None:  # type: ignore[no-untyped-def]
    down = {**settings.ARQ_QUEUES["default"], "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}
    with override_settings(ARQ_QUEUES={**settings.ARQ_QUEUES, "down": down}):
        get_queue().enqueue_sync("tests.jobs.add", 1, 2, _queue_name=queue_name)
        scraped = scrape(lambda: [("down", ["q"]), ("default", [queue_name])])
    assert value(scraped, "django_arq_queue_up", alias="down") == 0
    assert ("django_arq_jobs_queued", frozenset({"alias": "down", "queue": "q"}.items())) not in scraped
    assert value(scraped, "django_arq_jobs_queued", alias="default", queue=queue_name) == 1


def test_the_mock_backend_is_counted_and_every_alias_by_default() -> None:
    get_queue("mock").enqueue_sync("tests.jobs.add", 1, 2)
    scraped = samples(generate_latest(scrape_registry()).decode())
    assert value(scraped, "django_arq_jobs_queued", alias="mock", queue="django-arq-tests:queue") >= 1
    assert value(scraped, "django_arq_queue_up", alias="default") == 1


@pytest.mark.parametrize(
    "name", ["nul\x00byte", "lone\ud800surrogate", "new\nline", 'quote"back\\slash', "x" * 5000]
)
def test_hostile_queue_names_give_a_scrape_prometheus_can_read(name: str) -> None:
    queue = get_queue("mock")
    collector = QueueCollector(lambda: [("mock", [name])])
    families = list(collector.collect())
    assert families[0].samples[0].labels["queue"] == label(name)
    text = generate_latest(scrape_registry(lambda: [("mock", [name])])).decode()
    scraped = samples(text)
    assert value(scraped, "django_arq_jobs_queued", alias="mock", queue=label(name)) == 0
    assert len(label(name)) <= MAX_LENGTH and label(name).isprintable()
    queue.backend.close()
