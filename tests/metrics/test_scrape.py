"""``/metrics`` scraped over HTTP from a real ``manage.py arq_worker --metrics-port`` and from
uvicorn serving the web process's view (one process, and several with PROMETHEUS_MULTIPROC_DIR),
the values moving as jobs are enqueued and run."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
import redis

from django_arq import get_queue
from tests.api.conftest import TOKEN, live_env
from tests.helpers import Process, free_port, wait_for
from tests.metrics.conftest import samples, value
from tests.worker.conftest import WorkerRunner

pytestmark = pytest.mark.django_db(transaction=True)

Scraped = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(url: str, **headers: str) -> Scraped:
    response = httpx.get(url, headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return samples(response.text)


def start_metrics_worker(runner: WorkerRunner, **env: str) -> str:
    """Start a real worker of ``runner``'s queue serving its metrics on a free port; the URL it
    prints, 0.0.0.0 (every interface) read as 127.0.0.1."""
    process = Process(
        runner.args("--metrics-port", "0"), env={**runner.env(), "DJANGO_ARQ_TEST_METRICS": "1", **env}
    )
    runner.processes.append(process)
    wait_for(lambda: "metrics: http" in process.output() or process.proc.poll() is not None, timeout=30)
    assert process.proc.poll() is None, process.output()
    printed = re.search(r"metrics: (http://\S+)", process.output())
    assert printed, process.output()
    return printed.group(1).replace("//0.0.0.0:", "//127.0.0.1:")


@pytest.fixture
def metrics_worker(workers: WorkerRunner) -> tuple[str, str]:
    """A real worker on a private queue serving its metrics on a free port: (queue, metrics URL)."""
    return workers.queue_name, start_metrics_worker(workers)


def test_a_worker_serves_its_metrics_and_they_move_as_jobs_run(metrics_worker: tuple[str, str]) -> None:
    q, url = metrics_worker
    labels = {"alias": "default", "queue": q}
    before = scrape(url)
    assert value(before, "django_arq_jobs_started_total", **labels, function="tests.jobs.add") == 0
    assert value(before, "django_arq_queue_up", alias="default") == 1
    queue = get_queue()
    for i in range(3):
        queue.enqueue_sync("tests.jobs.add", i, 1, _queue_name=q)
    queue.enqueue_sync("tests.jobs.fail", "no", _queue_name=q)
    queue.enqueue_sync("tests.jobs.add", 1, 1, _queue_name=q, _defer_by=3600)

    def finished() -> Scraped | None:
        now = scrape(url)
        done = value(now, "django_arq_jobs_succeeded_total", **labels, function="tests.jobs.add")
        failed = value(now, "django_arq_jobs_failed_total", **labels, function="tests.jobs.fail")
        return now if (done, failed) == (3, 1) else None

    after = wait_for(finished, timeout=30, interval=0.2)
    assert value(after, "django_arq_jobs_started_total", **labels, function="tests.jobs.add") == 3
    assert value(after, "django_arq_job_duration_seconds_count", **labels, function="tests.jobs.add") == 3
    assert value(after, "django_arq_job_queue_wait_seconds_count", **labels, function="tests.jobs.fail") == 1
    assert value(after, "django_arq_jobs_deferred", **labels) == 1  # read from Redis at the scrape
    assert value(after, "django_arq_jobs_queued", **labels) == 0
    wait_for(
        lambda: ("django_arq_worker_health_age_seconds", frozenset(labels.items())) in scrape(url), timeout=30
    )
    now = scrape(url)
    assert value(now, "django_arq_workers", **labels, state="live") == 1  # its own heartbeat
    assert 0 <= value(now, "django_arq_worker_heartbeat_age_seconds", **labels) < 15


def test_a_worker_on_an_ipv6_address_prints_a_url_that_reaches_it(workers: WorkerRunner) -> None:
    url = start_metrics_worker(workers, DJANGO_ARQ_TEST_METRICS_ADDR="::1")
    parts = urlsplit(url)
    assert (parts.hostname, parts.path) == ("::1", "/metrics"), url
    assert parts.port, url
    assert value(scrape(url), "django_arq_queue_up", alias="default") == 1


def test_a_lost_job_is_counted_by_the_worker_that_recovers_it(
    workers: WorkerRunner, monkeypatch: pytest.MonkeyPatch, redis_client: redis.Redis
) -> None:
    monkeypatch.setenv(
        "DJANGO_ARQ_TEST_LOST_AFTER", "5"
    )  # as tests/worker/test_heartbeats: room for a late beat
    q, labels = workers.queue_name, {"alias": "default", "queue": workers.queue_name}
    doomed = workers.start()
    key = f"django-arq-tests:runs:{q}"
    get_queue().enqueue_sync("tests.worker.jobs.mark_and_sleep", key, 600, _queue_name=q)
    wait_for(lambda: redis_client.llen(key) == 1, timeout=30)
    url = start_metrics_worker(workers)
    assert value(scrape(url), "django_arq_jobs_lost_total", **labels) == 0
    doomed.kill()
    scraped = wait_for(
        lambda: (now := scrape(url)) and value(now, "django_arq_jobs_lost_total", **labels) == 1 and now,
        timeout=60,
        interval=0.2,
    )
    assert value(scraped, "django_arq_workers", **labels, state="lost") >= 1  # the killed one
    wait_for(lambda: redis_client.llen(key) == 2, timeout=30)  # run again, by the metrics worker
    redis_client.delete(key)


def test_a_taken_port_is_a_one_line_error(queue_name: str) -> None:
    import socket

    runner = WorkerRunner(queue_name)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = Process(
            runner.args("--metrics-port", str(port)), env={**runner.env(), "DJANGO_ARQ_TEST_METRICS": "1"}
        )
        process.proc.wait(60)
    # bound on 0.0.0.0 while the port is taken on 127.0.0.1: refused with "Address already in use"
    assert process.proc.returncode == 1, process.output()
    assert f"cannot serve metrics on 0.0.0.0:{port}: Address already in use" in process.output()
    assert "Traceback" not in process.output()


def start_uvicorn(*extra: str, **env: str) -> tuple[Process, str]:
    port = free_port()
    args = [sys.executable, "-m", "uvicorn", "tests.api.asgi:application", "--host", "127.0.0.1"]
    args += ["--port", str(port), "--log-level", "warning", *extra]
    server = Process(args, env=live_env(ARQ_TEST_API_TOKEN=TOKEN, DJANGO_ARQ_TEST_METRICS="1", **env))
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return httpx.get(f"{base}/arq/openapi.json", timeout=1).status_code == 200
        except httpx.HTTPError:
            return server.proc.poll() is not None

    wait_for(up, timeout=30, interval=0.1)
    assert server.proc.poll() is None, server.output()
    return server, base


def test_a_web_process_serves_its_metrics_to_a_token_holder(queue_name: str) -> None:
    server, base = start_uvicorn(DJANGO_ARQ_LIVE_QUEUE=queue_name)
    try:
        url, auth = f"{base}/arq/metrics", {"Authorization": f"Bearer {TOKEN}"}
        assert httpx.get(url).status_code == 401
        assert httpx.get(url, headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert httpx.post(url, headers=auth).status_code == 405
        labels = {"alias": "default", "queue": queue_name}
        before = scrape(url, **auth)
        for i in range(4):
            response = httpx.post(
                f"{base}/arq/jobs/",
                json={"name": "tests.jobs.add", "args": [i, 1]},  # the default queue: counted by the view
                headers=auth,
            )
            assert response.status_code == 201, response.text
        after = scrape(url, **auth)
        assert value(after, "django_arq_jobs_enqueued_total", **labels) == 4
        calls = "django_arq_enqueue_duration_seconds_count"
        assert value(after, calls, alias="default") - value(before, calls, alias="default") == 4
        assert value(after, "django_arq_jobs_queued", **labels) == 4  # read from Redis by the view
    finally:
        server.stop()


def test_several_web_processes_add_up_in_multiprocess_mode(queue_name: str, tmp_path: Path) -> None:
    server, base = start_uvicorn("--workers", "2", PROMETHEUS_MULTIPROC_DIR=str(tmp_path))
    try:
        auth = {"Authorization": f"Bearer {TOKEN}"}
        job = {"name": "tests.jobs.add", "args": [1, 1], "queue": queue_name}
        labels = {"alias": "default", "queue": queue_name}

        def enqueue() -> int:
            """Enqueue one job on a new connection (either process may take it): processes that enqueued."""
            response = httpx.post(f"{base}/arq/jobs/", json=job, headers=auth, timeout=10)
            assert response.status_code == 201, response.text
            return len(list(tmp_path.glob("counter_*.db")))  # a file per process, once it counted

        wait_for(lambda: enqueue() == 2, timeout=60, interval=0)
        jobs = get_queue().count_jobs_sync([queue_name])[0].queued
        for _ in range(4):  # whichever process answers, every process's enqueues added up
            assert (
                value(scrape(f"{base}/arq/metrics", **auth), "django_arq_jobs_enqueued_total", **labels)
                == jobs
            )
    finally:
        server.stop()
