"""``bin/demo --once`` end to end: its own Redis, its own database, a real worker and uvicorn."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import django
import pytest

from tests.helpers import ROOT, Process, free_port, wait_for

from .conftest import ExampleDatabase

DEMO = ROOT / "bin" / "demo"
EXPECTED_VIAS = ["sync view", "sync view", "async view", "HTTP API", "HTTP API", "arq_enqueue", "CRON_JOBS"]
if django.VERSION >= (6, 0):
    EXPECTED_VIAS.append("@task")


def run_demo(
    env: dict[str, str], cwd: Path, *args: str, timeout: float = 240
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(DEMO), *args], env=env, cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
        timeout=timeout,
    )  # fmt: skip


def port_open(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_demo_once_runs_every_job_to_its_expected_end(
    tmp_path: Path, example_env: dict[str, str], example_db: ExampleDatabase
) -> None:
    redis_port, web_port = free_port(), free_port()
    summary = tmp_path / "summary.json"
    env = {
        **example_env,
        # Nothing listens there: the demo starts its own redis-server, and stops it afterwards.
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "DEMO_SUMMARY": str(summary),
    }
    done = run_demo(env, tmp_path, "--once", "--port", str(web_port))  # from another directory
    output = done.stdout + done.stderr
    assert done.returncode == 0, output

    n = len(EXPECTED_VIAS)
    assert f"demo: {n} of {n} jobs finished as expected" in done.stdout
    assert "demo: the admin job list and queue dashboard show them" in done.stdout
    assert "starting redis-server" in output
    jobs = json.loads(summary.read_text())
    assert [job["via"] for job in jobs] == EXPECTED_VIAS
    assert all(job["ok"] for job in jobs), jobs
    by_label = {job["label"]: job for job in jobs}
    assert by_label["cart reminder (deferred 3s)"]["first_status"] == "deferred"
    assert by_label["price list with a bad row"]["status"] == "failed"
    assert by_label["price list with a bad row"]["result"] == {
        "exception": "builtins.ValueError",
        "message": "row 2: price 'n/a' is not a number",
    }
    assert by_label["price list"]["result"] == {"updated": 2}
    aborted = by_label["long report, aborted"]
    assert aborted["status"] == "aborted"
    assert aborted["result"] == {"exception": "asyncio.exceptions.CancelledError", "message": ""}

    # The worker kept the audit records current, and the jobs did their work in the database.
    ids = [job["job_id"] for job in jobs if job["job_id"]]
    records = dict(example_db.query("SELECT job_id, success FROM django_arq_jobrecord"))
    assert set(ids) <= set(records)
    assert [bool(records[job["job_id"]]) for job in jobs if job["job_id"]] == [
        job["status"] not in ("failed", "aborted") for job in jobs if job["job_id"]
    ]
    # The report said how far it was (report_progress), and its record kept the last report.
    rows = example_db.query("SELECT job_id, progress FROM django_arq_jobrecord")
    progress = {job_id: json.loads(value) if isinstance(value, str) else value for job_id, value in rows}
    report = progress[by_label["sales report with progress"]["job_id"]]
    assert (report["done"], report["total"], report["message"]) == (5, 5, "region 5 of 5 counted")
    assert (progress[aborted["job_id"]] or {"done": 0})["done"] < 5  # aborted before its end
    # ... and the demo showed it while the report ran, as the API gave it.
    assert re.search(r"progress [0-5]/5 \(\d+%\) (starting|region [1-5] of 5 counted)", done.stdout), (
        done.stdout
    )
    ((status, requested_by),) = example_db.query(
        "SELECT status, abort_requested_by FROM django_arq_jobrecord WHERE job_id = %s", (aborted["job_id"],)
    )
    assert (status, requested_by) == ("complete", "api token")
    ((confirmed, reminded),) = example_db.query(
        "SELECT confirmation_sent_at, reminder_sent_at FROM shop_order"
    )
    assert confirmed and reminded
    assert example_db.query("SELECT COUNT(*) FROM shop_salessnapshot")[0][0] >= 1
    ((username, is_superuser),) = example_db.query("SELECT username, is_superuser FROM auth_user")
    assert username == "admin" and is_superuser

    # Everything it started is stopped.
    assert not port_open(web_port) and not port_open(redis_port)


def test_demo_once_fails_when_jobs_do_not_finish_in_time(tmp_path: Path, example_env: dict[str, str]) -> None:
    env = {**example_env, "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}
    done = run_demo(env, tmp_path, "--once", "--port", str(free_port()), "--timeout", "0")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "jobs finished as expected" in done.stderr
    assert re.search(r"sales report with progress: still (queued|in_progress) after 0s", done.stderr)


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--bogus"], {}, "unknown option --bogus"),
        ([], {"REDIS_URL": "redis://192.0.2.1:6379/0"}, "Redis is not reachable at redis://192.0.2.1:6379/0"),
    ],
)
def test_demo_fails_loudly(
    tmp_path: Path, example_env: dict[str, str], args: list[str], env: dict[str, str], message: str
) -> None:
    done = run_demo({**example_env, **env}, tmp_path, "--once", *args, timeout=60)
    assert done.returncode != 0
    assert message in done.stderr


def test_demo_keeps_the_site_up_until_ctrl_c(tmp_path: Path, example_env: dict[str, str]) -> None:
    redis_port, web_port = free_port(), free_port()
    env = {
        **example_env,
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "DJANGO_SUPERUSER_PASSWORD": "s3cret-demo",
    }
    demo = Process([str(DEMO), "--port", str(web_port)], env=env, cwd=tmp_path)
    try:
        wait_for(lambda: "Ctrl-C stops" in demo.output() or demo.proc.poll() is not None, timeout=180)
        output = demo.output()
        assert demo.proc.poll() is None, output
        assert f"the example site is up: http://127.0.0.1:{web_port}/shop/" in output
        assert "password:  from DJANGO_SUPERUSER_PASSWORD" in output and "s3cret-demo" not in output
        token = re.search(r"API token: (\S+)", output)
        assert token, output
        with urllib.request.urlopen(f"http://127.0.0.1:{web_port}/admin/login/", timeout=10) as page:
            assert page.status == 200
        request = urllib.request.Request(
            f"http://127.0.0.1:{web_port}/arq/jobs/no-such-job/",
            headers={"Authorization": f"Bearer {token[1]}"},
        )
        with pytest.raises(urllib.error.HTTPError) as missing:  # the token is accepted: 404, not 401
            urllib.request.urlopen(request, timeout=10)  # noqa: S310 - http only
        assert missing.value.code == 404
    finally:
        status = demo.stop(signal.SIGINT, timeout=30)  # what Ctrl-C sends
    assert status == 130, demo.output()
    assert "stopping the worker and the server" in demo.output()
    assert not port_open(web_port) and not port_open(redis_port)


@pytest.mark.slow  # about a minute, most of it pip installing into a new virtual environment
def test_demo_from_a_fresh_clone(tmp_path: Path, example_env: dict[str, str]) -> None:
    """What the README promises: clone, run ``bin/demo --once``; it makes its own .venv and installs."""
    clone = tmp_path / "django-arq"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True, timeout=60)
    env = {k: v for k, v in example_env.items() if k not in ("DEMO_VENV", "DATABASE_URL", "VIRTUAL_ENV")}
    env["REDIS_URL"] = f"redis://127.0.0.1:{free_port()}/0"
    done = subprocess.run(
        [str(clone / "bin" / "demo"), "--once", "--port", str(free_port())], env=env, cwd=tmp_path,
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "creating a virtual environment" in done.stdout
    assert (clone / ".venv" / "bin" / "python").exists()
    assert re.search(r"demo: (\d+) of \1 jobs finished as expected", done.stdout)
    assert (clone / "example_project" / "db.sqlite3").exists()  # the default database, inside the clone


def test_demo_help() -> None:
    done = subprocess.run([str(DEMO), "--help"], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0
    assert done.stdout.startswith("bin/demo — the django-arq example project")
    assert "bin/demo --once" in done.stdout and "ARQ_API_TOKENS" in done.stdout
    assert "set -e" not in done.stdout
