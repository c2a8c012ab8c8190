"""A ``PROMETHEUS_MULTIPROC_DIR`` that names no writable directory: check E020, enqueues that go on
uncounted (one error logged), a worker that refuses to start in one line, and a view that answers
503, in real processes (prometheus-client reads the variable when it is imported)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from django_arq import get_queue
from django_arq.checks import check_metrics
from tests.api.conftest import TOKEN
from tests.helpers import ROOT, Process
from tests.metrics.test_scrape import start_uvicorn
from tests.worker.conftest import WorkerRunner

pytestmark = pytest.mark.django_db(transaction=True)

PROBLEM = "PROMETHEUS_MULTIPROC_DIR must name an existing writable directory"


@pytest.fixture(params=["missing", "file"])
def bad_dir(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A path that is not a directory: one that does not exist, or a file."""
    path = tmp_path / "metrics"
    if request.param == "file":
        path.write_text("")
    return str(path)


def test_the_check_reports_it_while_metrics_are_on(
    bad_dir: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.ARQ_METRICS = True
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", bad_dir)
    ((error_id, message),) = [(m.id, m.msg) for m in check_metrics()]
    assert error_id == "django_arq.E020" and message.startswith(f"{PROBLEM}: {bad_dir!r} ")
    settings.ARQ_METRICS = False  # the variable is then none of django-arq's business
    assert check_metrics() == []
    settings.ARQ_METRICS = True
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    assert check_metrics() == []


def test_the_older_lower_case_spelling_is_checked_as_prometheus_client_reads_it(
    bad_dir: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.ARQ_METRICS = True
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    monkeypatch.setenv("prometheus_multiproc_dir", bad_dir)
    ((message,),) = [(m.msg,) for m in check_metrics()]
    assert message.startswith(
        f"prometheus_multiproc_dir must name an existing writable directory: {bad_dir!r} "
    )
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))  # the upper case wins, as there
    assert check_metrics() == []


ENQUEUE = """
import django
django.setup()
from django_arq import get_queue
from django_arq.metrics import job_lost
for i in range(2):
    print("enqueued", get_queue().enqueue_sync("tests.jobs.add", i, 1, _queue_name={queue!r}).id)
job_lost("default", {queue!r})  # the public counter: a no-op too, not an error
"""


def test_enqueues_go_on_uncounted_and_the_problem_is_logged_once(bad_dir: str, queue_name: str) -> None:
    env = {
        **os.environ,
        "PROMETHEUS_MULTIPROC_DIR": bad_dir,
        "DJANGO_ARQ_TEST_METRICS": "1",
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "PYTHONPATH": str(ROOT),
    }
    done = subprocess.run(
        [sys.executable, "-c", ENQUEUE.format(queue=queue_name)],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("enqueued") == 2
    assert get_queue().count_jobs_sync([queue_name])[0].queued == 2
    assert done.stderr.count(PROBLEM) == 1, done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("checks", ["run", "skipped"])
def test_a_worker_refuses_to_start(bad_dir: str, queue_name: str, checks: str) -> None:
    """Stopped by check E020, as arq_worker runs the checks; by create_worker without them, in one line."""
    runner = WorkerRunner(queue_name)
    env = {**runner.env(), "DJANGO_ARQ_TEST_METRICS": "1", "PROMETHEUS_MULTIPROC_DIR": bad_dir}
    process = Process(runner.args("--burst", *(["--skip-checks"] if checks == "skipped" else [])), env=env)
    process.proc.wait(60)
    output = process.output()
    assert process.proc.returncode == 1, output
    assert "Traceback" not in output
    if checks == "run":
        assert f"(django_arq.E020) {PROBLEM}" in output
    else:
        assert f"CommandError: {PROBLEM}: {bad_dir!r} " in output and len(output.strip().splitlines()) == 1


def test_a_web_process_enqueues_and_its_metrics_view_answers_503(bad_dir: str, queue_name: str) -> None:
    server, base = start_uvicorn(PROMETHEUS_MULTIPROC_DIR=bad_dir)
    try:
        auth = {"Authorization": f"Bearer {TOKEN}"}
        job = {"name": "tests.jobs.add", "args": [1, 1], "queue": queue_name}
        response = httpx.post(f"{base}/arq/jobs/", json=job, headers=auth, timeout=10)
        assert response.status_code == 201, response.text
        scraped = httpx.get(f"{base}/arq/metrics", headers=auth, timeout=10)
        assert scraped.status_code == 503, scraped.text
        assert scraped.json()["error"] == "metrics_unavailable"
        assert scraped.json()["detail"].startswith(PROBLEM)
        assert httpx.get(f"{base}/arq/metrics", timeout=10).status_code == 401  # told to callers only
    finally:
        server.stop()
