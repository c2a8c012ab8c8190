"""End to end: a job run by a real ``manage.py arq_worker`` reports progress step by step, waiting
between steps on a Redis key this test raises; the HTTP API (through a real ASGI server, including
its ``?progress=`` long-poll), the admin's job list and page, and ``arq_job`` each see it move."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
import redis
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from django_arq import get_queue
from django_arq.audit.writer import flush_records
from django_arq.models import JobRecord
from django_arq.queues.progress import progress_key
from tests.api.conftest import TOKEN, start_live_server
from tests.helpers import ROOT, wait_for
from tests.worker.conftest import WorkerRunner

pytestmark = pytest.mark.django_db(transaction=True)

__all__ = ["start_live_server"]

STEPS = 3
LONG_POLL = 30


def test_the_api_the_admin_and_arq_job_see_the_progress_move(
    workers: WorkerRunner, redis_client: redis.Redis, start_live_server: Callable[..., str]
) -> None:
    url = start_live_server()
    workers.start()
    admin = Client()
    admin.force_login(User.objects.create_superuser("admin", password="-"))
    q = workers.queue_name
    job = get_queue().enqueue_sync("tests.worker.jobs.stepwise", STEPS, _queue_name=q)
    flush_records()
    go = f"django-arq-tests:go:{job.id}"
    api = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=LONG_POLL + 30)
    job_url = f"/arq/jobs/{job.id}/"

    def from_api(**params: Any) -> dict[str, Any]:
        response = api.get(job_url, params={"queue": q, **params})
        assert response.status_code == 200, response.text
        return dict(response.json())

    def arq_job() -> dict[str, str]:
        out = io.StringIO()
        call_command("arq_job", job.id, "--queue", q, stdout=out)
        return dict(line.split(":", 1) for line in out.getvalue().splitlines())

    try:
        seen = wait_for(
            lambda: (from_api().get("progress") or {}).get("done") == 1 and from_api(), timeout=30
        )
        for step in range(1, STEPS + 1):
            text = f"{step}/{STEPS} ({100 * step // STEPS}%) step {step}"
            assert seen["status"] == "in_progress"
            progress = seen["progress"]
            assert (progress["done"], progress["total"], progress["message"]) == (step, STEPS, f"step {step}")
            assert progress["fraction"] == pytest.approx(step / STEPS)

            # The admin reads the record, which the worker's recorder keeps current.
            def recorded(step: int = step) -> bool:
                return (JobRecord.objects.get(job_id=job.id).progress or {}).get("done") == step

            wait_for(recorded, timeout=30)
            record = JobRecord.objects.get(job_id=job.id)
            page = admin.get(reverse("admin:django_arq_jobrecord_change", args=[record.pk])).content.decode()
            assert text in page.split("field-progress_display")[1]
            listed = admin.get(reverse("admin:django_arq_jobrecord_changelist")).content.decode()
            assert f'aria-label="{text}"' in listed
            assert arq_job()["progress"].strip().startswith(f"{text} (reported at ")

            # A long-poll for the next report, answered once the job makes it, not at its deadline.
            with ThreadPoolExecutor(1) as pool:
                started = time.monotonic()
                waiting = pool.submit(from_api, wait=LONG_POLL, progress=progress["time"])
                time.sleep(0.2)  # not a wait for a condition: only makes it likely the poll waits first
                assert not waiting.done() or waiting.result()["progress"]["time"] != progress["time"]
                redis_client.set(go, step)
                seen = waiting.result()
            assert time.monotonic() - started < LONG_POLL - 5
            if step < STEPS:
                assert seen["progress"]["done"] == step + 1
        assert seen["status"] == "complete" and seen["result"] == STEPS
        assert seen["progress"]["done"] == STEPS and seen["progress"]["fraction"] == 1.0
    finally:
        api.close()
        redis_client.delete(go, progress_key(job.id))


class Terminal:
    """A command run with its stdout on a pseudo-terminal (or a pipe), its output read as it comes."""

    def __init__(self, args: list[str], env: dict[str, str], tty: bool) -> None:
        self.chunks: list[bytes] = []
        leader, follower = os.openpty() if tty else os.pipe()
        self.process = subprocess.Popen(
            args,
            cwd=ROOT,
            env={**os.environ, **env, "COLUMNS": "160"},
            stdout=follower,
            stderr=subprocess.STDOUT,
        )
        os.close(follower)
        self.reader = threading.Thread(target=self._read, args=(leader,), daemon=True)
        self.reader.start()

    def _read(self, fd: int) -> None:
        with contextlib.suppress(OSError):  # EIO: the child closed its end of the pty
            while chunk := os.read(fd, 4096):
                self.chunks.append(chunk)
        os.close(fd)

    @property
    def text(self) -> str:
        return b"".join(self.chunks).decode(errors="replace")

    def finish(self) -> str:
        self.process.wait(60)
        self.reader.join(10)
        return self.text


@pytest.mark.parametrize("tty", [True, False], ids=["terminal", "pipe"])
def test_arq_enqueue_wait_shows_the_progress_move(
    workers: WorkerRunner, redis_client: redis.Redis, tty: bool
) -> None:
    workers.start()
    job_id = f"progress-cli-{uuid.uuid4().hex}"
    go = f"django-arq-tests:go:{job_id}"
    args = [*workers.args()[:3], "arq_enqueue", "tests.worker.jobs.stepwise", str(STEPS), "--queue",
            workers.queue_name, "--job-id", job_id, "--wait", "--timeout", "60"]  # fmt: skip
    command = Terminal(args, workers.env(), tty)
    try:
        for step in range(1, STEPS + 1):
            text = f"{step}/{STEPS} ({100 * step // STEPS}%) step {step}"
            wait_for(lambda text=text: text in command.text, timeout=30)
            redis_client.set(go, step)
        output = command.finish()
    finally:
        if command.process.poll() is None:
            command.process.kill()
        redis_client.delete(go, progress_key(job_id))
    assert command.process.returncode == 0, output
    lines = output.replace("\r\n", "\n").split("\n")
    assert lines[0] == job_id and lines[-2:] == [str(STEPS), ""]
    if tty:
        drawn = output.split("\r\x1b[K")[1:]
        bars = [line for line in drawn if "step" in line]
        firsts = [
            next(i for i, line in enumerate(drawn) if f"{s}/{STEPS} " in line) for s in range(1, STEPS + 1)
        ]
        assert firsts == sorted(firsts)  # the bar moved forward, redrawn in place
        assert f"[{'#' * 7}{'-' * 13}] 1/3 (33%) step 1" in bars[0]
        assert "\n" not in "".join(drawn[:-1])  # one line, redrawn, until the wait is over
    else:
        shown = [line for line in lines if line.startswith("progress ")]
        assert shown == [f"progress {s}/{STEPS} ({100 * s // STEPS}%) step {s}" for s in range(1, STEPS + 1)]
        assert "\r" not in output and "\x1b" not in output
