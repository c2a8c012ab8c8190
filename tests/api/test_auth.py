"""Who may call the API: bearer tokens, session users with per-action permissions, CSRF."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.conf import settings
from django.test import AsyncClient, Client
from django.utils.crypto import get_random_string

from django_arq.audit.on_commit import aflush_records
from django_arq.audit.writer import flush_records
from django_arq.models import JobRecord
from tests.api.conftest import TOKEN, post_json

ENDPOINTS = {
    "enqueue": ("post", "/arq/jobs/"),
    "view": ("get", "/arq/jobs/{id}/"),
    "result": ("get", "/arq/jobs/{id}/result/"),
    "abort": ("post", "/arq/jobs/{id}/abort/?timeout=0.1&queue={queue}"),
}
#: The permission each endpoint needs (``users`` fixture keys).
NEEDS = {"enqueue": "enqueue", "view": "view", "result": "view", "abort": "operate"}


async def call(client: Any, endpoint: str, queue: str, headers: dict[str, str] | None = None) -> Any:
    method, url = ENDPOINTS[endpoint]
    url = url.format(id=f"missing-{uuid.uuid4().hex}", queue=queue)
    if endpoint == "enqueue":
        body = {"name": "tests.jobs.add", "args": [1, 2], "queue": queue}
        return await post_json(client, url, body, headers)
    return await getattr(client, method)(url, headers=headers or {})


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_anonymous_gets_401_json_not_a_redirect(
    endpoint: str, lonely_queue: str, api_token: str
) -> None:
    response = await call(AsyncClient(), endpoint, lonely_queue)
    assert response.status_code == 401
    assert response.json()["error"] == "not_authenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert "Location" not in response


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize(
    "header", ["Bearer wrong-token", f"Bearer {TOKEN}x", "Bearer ", f"bearer {TOKEN[:-1]}"]
)
async def test_wrong_token_is_refused(endpoint: str, header: str, lonely_queue: str, api_token: str) -> None:
    response = await call(AsyncClient(), endpoint, lonely_queue, {"Authorization": header})
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"
    assert await aflush_records()
    assert await JobRecord.objects.acount() == 0


@pytest.mark.django_db(transaction=True)
async def test_no_token_is_valid_when_none_is_configured(lonely_queue: str) -> None:
    assert not getattr(settings, "ARQ_API_TOKENS", [])
    response = await call(AsyncClient(), "enqueue", lonely_queue, {"Authorization": f"Bearer {TOKEN}"})
    assert (response.status_code, response.json()["error"]) == (401, "invalid_token")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_token_grants_every_action(endpoint: str, lonely_queue: str, auth: dict[str, str]) -> None:
    response = await call(AsyncClient(), endpoint, lonely_queue, auth)
    assert response.status_code == (201 if endpoint == "enqueue" else 404), response.content


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("user", ["enqueue", "view", "operate", "all", "none"])
async def test_each_action_needs_its_permission(
    endpoint: str, user: str, users: dict[str, Any], lonely_queue: str
) -> None:
    client = AsyncClient()
    await client.aforce_login(users[user])
    response = await call(client, endpoint, lonely_queue)
    if user in (NEEDS[endpoint], "all"):
        assert response.status_code == (201 if endpoint == "enqueue" else 404), response.content
    else:
        assert response.status_code == 403
        assert response.json()["error"] == "permission_denied"
        assert f"django_arq.{NEEDS[endpoint]}_jobrecord" in response.json()["detail"]
    assert await aflush_records()
    assert await JobRecord.objects.acount() == (
        1 if endpoint == "enqueue" and user in ("enqueue", "all") else 0
    )


@pytest.mark.django_db(transaction=True)  # the async view's record comes from the background writer
def test_session_posts_need_a_csrf_token(users: dict[str, Any], lonely_queue: str) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(users["all"])
    body = {"name": "tests.jobs.add", "args": [1, 2], "queue": lonely_queue}
    refused = client.post("/arq/jobs/", body, content_type="application/json")
    assert refused.status_code == 403
    assert refused.json()["error"] == "csrf_failed"
    abort = client.post(f"/arq/jobs/missing-{uuid.uuid4().hex}/abort/")
    assert (abort.status_code, abort.json()["error"]) == (403, "csrf_failed")
    assert flush_records()
    assert JobRecord.objects.count() == 0
    secret = get_random_string(32)
    client.cookies[settings.CSRF_COOKIE_NAME] = secret
    wrong = client.post(
        "/arq/jobs/", body, content_type="application/json", headers={"X-CSRFToken": "x" * 32}
    )
    assert wrong.status_code == 403
    accepted = client.post(
        "/arq/jobs/", body, content_type="application/json", headers={"X-CSRFToken": secret}
    )
    assert accepted.status_code == 201, accepted.content
    assert flush_records()
    assert JobRecord.objects.filter(job_id=accepted.json()["id"]).exists()
    assert (
        client.get(f"/arq/jobs/{accepted.json()['id']}/?queue={lonely_queue}").status_code == 200
    )  # GET is safe


@pytest.mark.django_db(transaction=True)  # the async view's record comes from the background writer
def test_token_requests_are_csrf_exempt(auth: dict[str, str], lonely_queue: str) -> None:
    client = Client(enforce_csrf_checks=True)
    body = {"name": "tests.jobs.add", "args": [1, 2], "queue": lonely_queue}
    response = client.post("/arq/jobs/", body, content_type="application/json", headers=auth)
    assert response.status_code == 201, response.content


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("header", ["Bearer s", "Bearer secret", "Bearer e"])
async def test_tokens_given_as_a_string_authenticate_nobody(
    header: str, settings: Any, lonely_queue: str
) -> None:
    """``ARQ_API_TOKENS = "secret"`` is refused by check E005; requests never run the checks."""
    settings.ARQ_API_TOKENS = "secret"
    response = await call(AsyncClient(), "enqueue", lonely_queue, {"Authorization": header})
    assert response.status_code == 500
    assert response.json() == {
        "error": "improperly_configured",
        "detail": "the server's django-arq settings are invalid",
    }
    assert await aflush_records()
    assert await JobRecord.objects.acount() == 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("header", "status"),
    [
        (f"Bearer  {TOKEN}", 201),  # RFC 6750: one or more spaces after the scheme
        (f"Bearer {TOKEN} ", 201),
        (f"BEARER {TOKEN}", 201),  # the scheme is case-insensitive
        (f"Bearer{TOKEN}", 401),  # no space: not the Bearer scheme
        (f"Basic {TOKEN}", 401),
        (f"Bearer {TOKEN[:1]}", 401),
    ],
)
async def test_bearer_header_forms(header: str, status: int, lonely_queue: str, api_token: str) -> None:
    response = await call(AsyncClient(), "enqueue", lonely_queue, {"Authorization": header})
    assert response.status_code == status, response.content
