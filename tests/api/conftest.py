"""Fixtures for the HTTP API tests: users with and without each permission, a bearer token."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth.models import Permission
from django.db import connections
from django.utils import timezone

from django_arq.models import JobRecord
from tests.helpers import ROOT, Process, free_port, wait_for

TOKEN = "test-token-0123456789abcdef"


@pytest.fixture(autouse=True)
async def close_thread_connections() -> AsyncIterator[None]:
    """Close the database connection the async ORM opened in asgiref's worker thread.

    Otherwise PostgreSQL refuses to drop the test database at the end of the run.
    """
    yield
    await sync_to_async(connections.close_all)()


def live_env(**extra: str) -> dict[str, str]:
    """Environment of a child process (uvicorn, manage.py) that uses this run's test database."""
    from django.db import connection

    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.api.live_settings",
        "DJANGO_ARQ_LIVE_DB": str(connection.settings_dict["NAME"]),
        "PYTHONPATH": str(ROOT),
        **extra,
    }


def _accepts(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
        return True
    return False


@pytest.fixture
def start_live_server(redis_url: str) -> Iterator[Callable[..., str]]:
    """Start uvicorn serving ``tests.api.asgi`` (or ``app``) on a free loopback port, with ``TOKEN``
    accepted.

    Call it with extra environment variables (read by ``tests.api.live_settings``); it returns the
    base URL. Servers are stopped at the end of the test, and their output printed.
    """
    servers: list[Process] = []

    def start(app: str = "tests.api.asgi:application", **env: str) -> str:
        port = free_port()
        args = [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1"]
        # A long keep-alive: a client reusing an idle connection never races the server closing it.
        args += ["--port", str(port), "--log-level", "warning", "--timeout-keep-alive", "300"]
        server = Process(args, env=live_env(ARQ_TEST_API_TOKEN=TOKEN, **env))
        servers.append(server)
        wait_for(lambda: _accepts(port) or server.proc.poll() is not None, timeout=30)
        assert server.proc.poll() is None, server.output()
        return f"http://127.0.0.1:{port}"

    try:
        yield start
    finally:
        for server in servers:
            server.stop()
            print(server.output()[-3000:])


@pytest.fixture
def live_server_url(start_live_server: Callable[..., str]) -> str:
    """uvicorn serving the test settings' API."""
    return start_live_server()


PERMS = {"enqueue": "enqueue_jobrecord", "view": "view_jobrecord", "operate": "operate_jobrecord"}


@pytest.fixture
def api_token(settings: Any) -> str:
    settings.ARQ_API_TOKENS = ["another-token", TOKEN]
    return TOKEN


@pytest.fixture
def auth(api_token: str) -> dict[str, str]:
    """Headers of a service calling with the bearer token."""
    return {"Authorization": f"Bearer {api_token}"}


def make_user(django_user_model: Any, name: str, *perms: str) -> Any:
    user = django_user_model.objects.create_user(name)  # no password: logged in with force_login
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="django_arq", codename__in=perms)
    )
    return user


@pytest.fixture
def users(django_user_model: Any) -> dict[str, Any]:
    """One user per permission, one with all of them, and one with none."""
    found = {key: make_user(django_user_model, f"can-{key}", codename) for key, codename in PERMS.items()}
    found["all"] = make_user(django_user_model, "can-all", *PERMS.values())
    found["none"] = make_user(django_user_model, "can-nothing")
    return found


async def post_json(client: Any, url: str, body: Any, headers: dict[str, str] | None = None) -> Any:
    """POST ``body`` as JSON (bytes and str are sent as they are)."""
    data = body if isinstance(body, bytes | str) else json.dumps(body)
    return await client.post(url, data, content_type="application/json", headers=headers or {})


@pytest.fixture
def lonely_queue(redis_client: Any) -> Iterator[str]:
    """A queue name no worker serves; its jobs and abort requests are removed afterwards."""
    name = f"django-arq-tests:lonely-{uuid.uuid4().hex}"
    yield name
    ids = [i.decode() for i in redis_client.zrange(name, 0, -1)]
    if ids:
        redis_client.zrem("arq:abort", *ids)
        redis_client.delete(*[f"arq:job:{i}" for i in ids])
    redis_client.delete(name)


def finished_record(job_id: str, result: Any) -> JobRecord:
    """An unsaved record of a job that finished and that Redis no longer holds (``tests.jobs.add(1, 2)``)."""
    now = timezone.now()
    return JobRecord(
        job_id=job_id,
        name="tests.jobs.add",
        args=[1, 2],
        kwargs={},
        enqueue_time=now,
        status="complete",
        queue_name=settings.TEST_QUEUE,
        alias="default",
        start_time=now,
        finish_time=now,
        success=True,
        result=result,
    )
