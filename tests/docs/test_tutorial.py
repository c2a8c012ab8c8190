"""README.md followed literally: a new ``startproject`` project, README's settings and code, a worker, a
server, a job enqueued from README's views, and the job finished in the admin's job list.

The settings and code are README's own Python blocks (each names its file on its first line); the
commands are README's console lines, run with this interpreter. The only additions are for the test
machine: the Redis database and a queue of its own, a superuser made without prompts, a free port.
"""

from __future__ import annotations

import os
import re
import shlex
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple

import httpx
import pytest
from django.conf import settings

from .markdown import README, blocks, console_commands

#: Generous: the machine may be busy with other tests and workers.
DEADLINE = 90.0
PASSWORD = "tutorial-pw-1"


class Step(NamedTuple):
    """One README step: write or append ``code`` to the file ``path``, or run ``command``."""

    kind: str
    path: str = ""
    code: str = ""
    command: tuple[str, ...] = ()


def readme_steps() -> list[Step]:
    """README's steps, in README's order.

    A Python block names its file on its first line (``# path``; ``# path (at the end)`` appends);
    a console line ``$ python manage.py ...`` is a command to run in the project.
    """
    steps: list[Step] = []
    for block in blocks(README):
        if block.language == "python":
            header, _, code = block.content.partition("\n")
            match = re.fullmatch(r"# ([\w/]+\.py)( \(at the end\))?", header)
            assert match, f"README block without a file name: {header}"
            steps.append(Step("append" if match[2] else "write", match[1], code))
        elif block.language == "console":
            commands = [c for c in console_commands(block) if c[:2] == ["python", "manage.py"]]
            steps += [Step("run", command=tuple(c[2:])) for c in commands]
    return steps


def wait_for(what: str, check: Callable[[], bool], processes: list[subprocess.Popen[bytes]]) -> None:
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        if check():
            return
        dead = [p.args for p in processes if p.poll() is not None]
        assert not dead, f"exited while waiting for {what}: {dead}"
        time.sleep(0.2)
    pytest.fail(f"no {what} within {DEADLINE:g} s")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST_"))}
    return {**env, "PYTHONUNBUFFERED": "1", "DJANGO_SUPERUSER_USERNAME": "admin",
            "DJANGO_SUPERUSER_EMAIL": "admin@example.com", "DJANGO_SUPERUSER_PASSWORD": PASSWORD}  # fmt: skip


class Site(NamedTuple):
    """The tutorial project running: its URL, directory, worker and server, and what commands printed."""

    base: str
    root: Path
    processes: list[subprocess.Popen[bytes]]
    printed: dict[str, str]


#: README's commands that keep running: started in the background, stopped at the end.
BACKGROUND = ("arq_worker", "runserver")


@pytest.fixture
def started(tmp_path: Path, redis_url: str) -> Iterator[Site]:
    """A new ``startproject`` project, README's steps applied in README's order, worker and server up."""
    subprocess.run([sys.executable, "-m", "django", "startproject", "mysite"], cwd=tmp_path, check=True)
    root = tmp_path / "mysite"
    port = free_port()
    extra = {"createsuperuser": ["--noinput"], "runserver": [f"127.0.0.1:{port}", "--noreload"]}
    steps = readme_steps()
    ran = [step.command[0] for step in steps if step.kind == "run"]
    assert ran == [
        "startapp",
        "migrate",
        "check",
        "arq_worker",
        "arq_enqueue",
        "createsuperuser",
        "runserver",
    ]
    processes: list[subprocess.Popen[bytes]] = []
    printed: dict[str, str] = {}
    try:
        for step in steps:
            if step.kind == "run":
                argv = [sys.executable, "manage.py", *step.command, *extra.get(step.command[0], [])]
                if step.command[0] in BACKGROUND:
                    with (root / f"{step.command[0]}.log").open("wb") as log:
                        processes.append(subprocess.Popen(argv, cwd=root, env=_env(), stdout=log, stderr=log))
                    continue
                done = subprocess.run(argv, cwd=root, env=_env(), capture_output=True, text=True, timeout=120)
                assert done.returncode == 0, f"{shlex.join(step.command)}:\n{done.stdout}{done.stderr}"
                printed[step.command[0]] = done.stdout
                continue
            with (root / step.path).open("a" if step.kind == "append" else "w") as out:
                out.write(("\n\n" if step.kind == "append" else "") + step.code)
                if step.path == "mysite/settings.py":  # this machine's Redis, and a queue of its own
                    out.write(f'\nARQ_QUEUES["default"]["REDIS_URL"] = {redis_url!r}\n')
                    out.write(
                        f'ARQ_QUEUES["default"]["DEFAULT_QUEUE_NAME"] = "tutorial-{uuid.uuid4().hex}:q"\n'
                    )
        base = f"http://127.0.0.1:{port}"
        wait_for("server", lambda: _answers(f"{base}/admin/login/"), processes)
        yield Site(base, root, processes, printed)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=5, trust_env=False).status_code == 200  # no proxy for loopback
    except httpx.HTTPError:
        return False


def _csrf(client: httpx.Client, page: str) -> str:
    html = client.get(page).text
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert match, f"no CSRF token on {page}"
    return match[1]


def test_a_newcomer_following_the_readme_sees_the_job_done_in_the_admin(
    started: Site, redis_url: str
) -> None:
    assert redis_url == settings.REDIS_URL  # DJANGO_ARQ_TEST_REDIS, passed to the project above
    from_command = started.printed["arq_enqueue"].strip().splitlines()[-1]  # the job id, last
    with httpx.Client(base_url=started.base, timeout=30, trust_env=False) as client:
        token = _csrf(client, "/admin/login/")
        login = client.post(
            "/admin/login/?next=/admin/",
            data={"username": "admin", "password": PASSWORD, "csrfmiddlewaretoken": token},
        )
        assert login.status_code == 302, login.text[:500]
        headers = {"X-CSRFToken": client.cookies["csrftoken"]}

        welcome = client.post("/welcome/", data={"email": "bob@example.com"}, headers=headers)  # sync view
        count = client.post("/count/", data={"text": "one two three"}, headers=headers)  # async view
        assert (welcome.status_code, count.status_code) == (202, 202), welcome.text[:500] + count.text[:500]
        job_ids = [from_command, welcome.json()["job_id"], count.json()["job_id"]]

        def done_in_the_admin(job_id: str) -> bool:
            page = client.get("/admin/django_arq/jobrecord/", params={"q": job_id})
            assert page.status_code == 200
            return job_id in page.text and "arq-success" in page.text

        for job_id in job_ids:
            wait_for(
                f"job {job_id} complete in the admin job list",
                lambda j=job_id: done_in_the_admin(j),
                started.processes,
            )

    log = (started.root / "arq_worker.log").read_text()
    assert f"job {job_ids[0]}, try 1: welcome mail to ada@example.com" in log
    assert f"job {job_ids[1]}, try 1: welcome mail to bob@example.com" in log
