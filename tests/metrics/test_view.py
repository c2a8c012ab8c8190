"""Who may read a web process's ``/metrics``: a metrics or API token holder, or a user with the view
permission; and a 404 while metrics are off."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from tests.api.conftest import TOKEN

pytestmark = pytest.mark.django_db

URL = "/arq/metrics"


def test_a_metrics_token_and_only_a_good_one(metrics_on: None, settings) -> None:  # type: ignore[no-untyped-def]
    settings.ARQ_METRICS_TOKENS = ["scraper-token"]
    client = Client()
    response = client.get(URL, headers={"Authorization": "Bearer scraper-token"})
    assert response.status_code == 200 and b"django_arq_queue_up" in response.content
    assert response["Cache-Control"] == "no-store"
    refused = client.get(URL, headers={"Authorization": "Bearer scraper-token-"})
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_token"
    assert client.get(URL).status_code == 401


@pytest.mark.parametrize("tokens", [[5], [["scraper-token"]], [None, "scraper-token"]])
def test_entries_that_are_not_text_are_ignored(metrics_on: None, settings, tokens: list[object]) -> None:  # type: ignore[no-untyped-def]
    """The check reports them (E020); a request meanwhile gets 401, or 200 for a good token, not 500."""
    settings.ARQ_METRICS_TOKENS = tokens
    client = Client(raise_request_exception=False)
    assert client.get(URL, headers={"Authorization": "Bearer x"}).status_code == 401
    good = client.get(URL, headers={"Authorization": "Bearer scraper-token"})
    assert good.status_code == (200 if "scraper-token" in tokens else 401)


def test_an_api_token_also_reads_them(metrics_on: None, settings) -> None:  # type: ignore[no-untyped-def]
    settings.ARQ_API_TOKENS = [TOKEN]
    assert Client().get(URL, headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_a_user_needs_the_view_permission(metrics_on: None) -> None:
    user = User.objects.create_user("watcher", password="pw")
    client = Client()
    client.force_login(user)
    response = client.get(URL)
    assert response.status_code == 403 and "django_arq.view_jobrecord" in response.json()["detail"]
    user.user_permissions.add(Permission.objects.get(codename="view_jobrecord"))
    client.force_login(User.objects.get(pk=user.pk))
    assert client.get(URL).status_code == 200


def test_off_is_a_404(settings) -> None:  # type: ignore[no-untyped-def]
    settings.ARQ_METRICS = False
    settings.ARQ_METRICS_TOKENS = ["scraper-token"]
    response = Client().get(URL, headers={"Authorization": "Bearer scraper-token"})
    assert response.status_code == 404 and response.json()["error"] == "metrics_off"
