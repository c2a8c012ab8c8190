"""Hostile input and callers, against a throwaway Redis so that "nothing changed" means the whole
Redis (DBSIZE and the arq keys), not just one queue. What tests/api and tests/admin already cover
is listed in the report, not repeated here."""

from __future__ import annotations

import hmac
import uuid
from collections.abc import Callable
from typing import Any
from unittest import mock

import pytest
import redis
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from django_arq import get_queue
from django_arq.audit.writer import flush_records
from django_arq.models import JobRecord
from tests.admin.conftest import _user
from tests.api.conftest import TOKEN, post_json

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "s3cret-argument-value"
XSS = "<script>alert('x')</script>"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
#: Job ids in the URL: traversal, encoded traversal, NUL, glob and key-like names, very long, odd unicode.
HOSTILE_IDS = [
    "..",
    "../",
    "../../etc/passwd",
    "..%2f..%2fetc%2fpasswd",
    "%2e%2e%2f",
    "%2e%2e",
    "%252e%252e%252f",
    "..%5c..%5cwindows",
    "%00",
    "job%00id",
    "*",
    "arq:abort",
    "x" * 10_000,
    "%E2%80%AE",
    "%3Cscript%3E",
    "%0d%0aSet-Cookie:%20x=1",
]
ENDPOINTS = [("get", "/arq/jobs/{}/"), ("get", "/arq/jobs/{}/result/"), ("post", "/arq/jobs/{}/abort/")]


def state(client: redis.Redis) -> tuple[Any, ...]:
    """Everything a request could have changed: all Redis keys, and the records."""
    assert flush_records()
    return (sorted(client.keys("*")), client.zrange("arq:abort", 0, -1), JobRecord.objects.count())


@pytest.fixture
def token(settings: Any) -> None:
    settings.ARQ_API_TOKENS = [TOKEN]


@pytest.mark.parametrize(("method", "url"), ENDPOINTS, ids=["job", "result", "abort"])
@pytest.mark.parametrize("job_id", HOSTILE_IDS, ids=lambda i: i[:20])
def test_hostile_job_ids_are_4xx_and_change_nothing(
    on_server: str, server_client: redis.Redis, token: None, method: str, url: str, job_id: str
) -> None:
    get_queue().enqueue_sync("tests.jobs.add", 1, 2)  # something that must stay as it is
    before = state(server_client)
    response = getattr(Client(), method)(url.format(job_id), headers=AUTH)
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:300])
    if response.get("Content-Type") == "application/json":
        assert response.json()["error"] in {"invalid_job_id", "job_not_found"}
    assert b"Set-Cookie: x" not in response.serialize_headers()
    assert state(server_client) == before


@pytest.mark.parametrize(
    "body",
    [
        {"name": "tests.jobs.add", "args": [1, 2], "job_id": "../../x"},
        {"name": "tests.jobs.add", "args": [1, 2], "job_id": "a\x00b"},
        {"name": "tests.jobs.add", "args": [1, 2], "queue": "arq:abort"},
        {"name": "tests.jobs.add", "args": [1, 2], "queue": "arq:result:victim"},
        {"name": "tests.jobs.add", "args": [1, 2], "queue": "arq:in-progress:victim"},
        {"name": "tests.jobs.add", "args": [1, 2], "queue": "django-arq-tests:queue:health-check"},
        {"name": "../tests.jobs.add"},
        {"name": "tests.jobs.add\x00"},
        {"name": "tests.jobs.add", "args": [1] * 100_000},
    ],
    ids=[
        "id-traversal",
        "id-nul",
        "q-abort",
        "q-result",
        "q-in-progress",
        "q-health",
        "name-traversal",
        "name-nul",
        "many-args",
    ],
)
def test_hostile_bodies_enqueue_nothing(
    on_server: str, server_client: redis.Redis, token: None, body: dict[str, Any]
) -> None:
    before = state(server_client)
    response = async_post(body)
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:300])
    assert response["Content-Type"] == "application/json"
    assert state(server_client) == before


@pytest.mark.parametrize("queue", ["arq:abort", "arq:result:x", "arq:job:x", "arq:retry:x"])
@pytest.mark.parametrize(("method", "url"), ENDPOINTS, ids=["job", "result", "abort"])
def test_arq_keys_as_queue_in_the_query_are_400(
    on_server: str, server_client: redis.Redis, token: None, method: str, url: str, queue: str
) -> None:
    server_client.zadd("arq:abort", {"other-job": 1})
    server_client.set("arq:result:x", b"not a sorted set")
    before = state(server_client)
    response = getattr(Client(), method)(url.format("some-job") + f"?queue={queue}", headers=AUTH)
    assert response.status_code == 400, response.content
    assert response.json()["error"] == "invalid_field" and "arq's own Redis keys" in response.json()["detail"]
    assert state(server_client) == before


def async_post(body: Any) -> Any:
    from asgiref.sync import async_to_sync
    from django.test import AsyncClient

    return async_to_sync(post_json)(AsyncClient(), "/arq/jobs/", body, AUTH)


@pytest.mark.parametrize(
    "header",
    [
        f"Bearer {TOKEN[:-1]}{'x' if TOKEN[-1] != 'x' else 'y'}",  # same length, last byte differs
        f"Bearer {'x' * len(TOKEN)}",  # same length, first byte differs
        f"Bearer {TOKEN[:4]}",  # shorter
        f"Bearer {TOKEN}{TOKEN}",  # longer, with the token as a prefix
        f"Bearer {TOKEN.upper()}",
    ],
)
def test_bearer_token_is_compared_in_constant_time(
    on_server: str, server_client: redis.Redis, token: None, header: str
) -> None:
    before = state(server_client)
    with mock.patch("django_arq.api.auth.hmac.compare_digest", wraps=hmac.compare_digest) as compare:
        refused = Client().post("/arq/jobs/", {"name": "tests.jobs.add"}, "application/json",
                                headers={"Authorization": header})  # fmt: skip
        accepted = Client().get(f"/arq/jobs/missing-{uuid.uuid4().hex}/", headers=AUTH)
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_token"
    assert accepted.status_code == 404
    assert compare.call_count >= 2  # both the wrong and the right token went through compare_digest
    assert state(server_client) == before


def finished_job(**fields: Any) -> JobRecord:
    now = timezone.now()
    defaults: dict[str, Any] = {
        "job_id": f"secret-{uuid.uuid4().hex}",
        "name": "tests.jobs.echo",
        "args": [SECRET],
        "kwargs": {"password": SECRET},
        "enqueue_time": now,
        "status": "complete",
        "queue_name": "django-arq-tests:security",
        "alias": "default",
        "start_time": now,
        "finish_time": now,
        "success": True,
        "result": {"echo": SECRET},
    }
    return JobRecord.objects.create(**{**defaults, **fields})


@pytest.mark.parametrize("perms", [(), ("enqueue_jobrecord",), ("operate_jobrecord",)], ids=str)
def test_no_arguments_or_results_without_view_permission(on_server: str, perms: tuple[str, ...]) -> None:
    record = finished_job()
    user = _user(f"user-{uuid.uuid4().hex[:8]}", *perms)
    client = Client()
    client.force_login(user)
    urls = [
        f"/arq/jobs/{record.job_id}/",
        f"/arq/jobs/{record.job_id}/result/",
        reverse("admin:django_arq_jobrecord_changelist"),
        reverse("admin:django_arq_jobrecord_change", args=[record.pk]),
        reverse("admin:django_arq_jobrecord_changelist") + f"?q={record.job_id}",
        "/admin/django_arq/jobrecord/dashboard/",
        "/admin/",
    ]
    for url in urls:
        response = client.get(url)
        assert SECRET not in response.content.decode(), url
        if url != "/admin/":  # the admin index just lists nothing
            assert response.status_code == 403, url
    for anonymous in (Client(), Client(headers={"Authorization": "Bearer wrong"})):
        for url in urls[:2]:
            response = anonymous.get(url)
            assert response.status_code == 401 and SECRET not in response.content.decode()


def test_html_in_payloads_is_escaped_on_the_dashboard_and_json_in_the_api(
    on_server: str, token: None, make_superuser: Callable[[], Client]
) -> None:
    record = finished_job(
        name=f"tests.jobs.{XSS}", queue_name=f"q-{XSS}", args=[XSS], result={"html": XSS}, error=XSS
    )
    client = make_superuser()
    dashboard = client.get("/admin/django_arq/jobrecord/dashboard/")
    assert dashboard.status_code == 200
    html = dashboard.content.decode()
    assert XSS not in html and "q-&lt;script&gt;" in html
    api = Client().get(f"/arq/jobs/{record.job_id}/", headers=AUTH)
    assert api.status_code == 200
    assert api["Content-Type"] == "application/json"
    assert api["X-Content-Type-Options"] == "nosniff"
    assert api.json()["args"] == [XSS] and api.json()["result"] == {"html": XSS}  # data, not markup


def test_admin_actions_check_csrf(on_server: str, make_superuser: Callable[[], Client]) -> None:
    record = finished_job(status="queued", success=None, result=None)
    client = make_superuser(enforce_csrf_checks=True)
    for action in ("abort_jobs", "refresh_jobs", "retry_jobs"):
        response = client.post(
            reverse("admin:django_arq_jobrecord_changelist"),
            {"action": action, "_selected_action": [record.pk]},
        )
        assert response.status_code == 403, action
    record.refresh_from_db()
    assert (record.status, record.abort_requested_at) == ("queued", None)
    assert JobRecord.objects.count() == 1  # no retry copy


@pytest.fixture
def make_superuser() -> Callable[..., Client]:
    def make(**client_options: Any) -> Client:
        client = Client(**client_options)
        client.force_login(_user(f"root-{uuid.uuid4().hex[:8]}", superuser=True))
        return client

    return make
