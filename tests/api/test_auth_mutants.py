"""API tokens, called directly: the setting's refusal, and how an Authorization header is read
(what bin/mutate found no test pinning)."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory

from django_arq.api.auth import ENQUEUE, OPERATE, VIEW, Caller, authenticate, bearer_token, configured_tokens
from django_arq.api.errors import ApiError

NOT_A_LIST = "ARQ_API_TOKENS must be a list of strings"


@pytest.mark.parametrize("value", ["secret", ["ok", 1], [b"bytes"], ("ok", None)])
def test_tokens_that_are_not_a_list_of_strings_are_refused_by_name(settings: Any, value: Any) -> None:
    settings.ARQ_API_TOKENS = value
    with pytest.raises(ImproperlyConfigured) as info:
        configured_tokens()
    assert str(info.value) == NOT_A_LIST


def test_configured_tokens_are_bytes_and_empty_ones_are_ignored(settings: Any) -> None:
    settings.ARQ_API_TOKENS = ["first", "", "sécond"]
    assert configured_tokens() == [b"first", "sécond".encode()]
    del settings.ARQ_API_TOKENS
    assert configured_tokens() == []


@pytest.mark.parametrize(
    ("header", "token"),
    [
        (None, None),
        ("Bearer abc", "abc"),
        ("bearer abc", "abc"),
        ("BEARER abc", "abc"),
        ("Bearer  abc", "abc"),
        ("Bearer abc ", "abc"),
        ("Bearer", ""),
        ("Bearer ", ""),
        ("Basic abc", None),
        ("Bearerabc", None),
        ("Token abc", None),
    ],
)
def test_the_bearer_token_of_an_authorization_header(header: str | None, token: str | None) -> None:
    headers = {} if header is None else {"HTTP_AUTHORIZATION": header}
    assert bearer_token(RequestFactory().get("/arq/jobs/x/", **headers)) == token


CHALLENGE = {"WWW-Authenticate": 'Bearer realm="django-arq"'}


def with_header(header: str, method: str = "get") -> Any:
    return getattr(RequestFactory(), method)("/arq/jobs/x/", HTTP_AUTHORIZATION=header)


async def refused(request: Any, permission: str = VIEW) -> tuple[int, str, str, Any]:
    with pytest.raises(ApiError) as info:
        await authenticate(request, permission)
    return info.value.status, info.value.code, info.value.detail, info.value.headers


async def test_a_wrong_token_is_401_with_a_challenge(settings: Any) -> None:
    settings.ARQ_API_TOKENS = ["right"]
    detail = "the bearer token is not valid"
    assert await refused(with_header("Bearer wrong")) == (401, "invalid_token", detail, CHALLENGE)
    assert await refused(with_header("Bearer ")) == (401, "invalid_token", detail, CHALLENGE)


async def test_a_right_token_is_the_token_caller(settings: Any) -> None:
    settings.ARQ_API_TOKENS = ["right"]
    for permission in (VIEW, ENQUEUE, OPERATE):
        caller = await authenticate(with_header("Bearer right", "post"), permission)  # no CSRF needed
        assert caller == Caller(token=True) and caller.token is True and caller.user is None
        assert caller.label == "api token"


async def test_no_credentials_is_401_with_a_challenge() -> None:
    detail = "log in or send an Authorization: Bearer token"
    assert await refused(RequestFactory().get("/arq/jobs/x/")) == (
        401,
        "not_authenticated",
        detail,
        CHALLENGE,
    )


def session_request(user: Any, method: str = "get") -> Any:
    request = getattr(RequestFactory(), method)("/arq/jobs/x/")

    async def auser() -> Any:
        return user

    request.auser = auser
    return request


@pytest.mark.django_db(transaction=True)  # async: the users are created outside the test transaction
async def test_session_users_in_words(django_user_model: Any) -> None:
    viewer = await django_user_model.objects.acreate(username="viewer")
    root = await django_user_model.objects.acreate(username="root", is_superuser=True, is_active=True)
    assert await refused(session_request(AnonymousUser())) == (
        401, "not_authenticated", "log in or send an Authorization: Bearer token", CHALLENGE,
    )  # fmt: skip
    needs = f"this needs the {VIEW} permission"
    assert await refused(session_request(viewer)) == (403, "permission_denied", needs, None)
    status, code, detail, headers = await refused(session_request(root, "post"), ENQUEUE)
    assert (status, code, headers) == (403, "csrf_failed", None)
    assert detail.startswith("CSRF verification failed: ") and "CSRF cookie not set" in detail
    caller = await authenticate(session_request(root), VIEW)
    assert (caller.user, caller.token, caller.label) == (root, False, "root")
