"""API tokens, called directly: the setting's refusal, and how an Authorization header is read
(what bin/mutate found no test pinning)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory

from django_arq.api.auth import bearer_token, configured_tokens

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
