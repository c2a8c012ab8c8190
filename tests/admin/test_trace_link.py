"""A job's page shows the trace id of its enqueue, linked when ARQ_TRACE_URL is set."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from django_arq.checks import check_trace_url
from django_arq.conf import trace_url
from django_arq.models import JobRecord

pytestmark = pytest.mark.django_db

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


def page(client: Client, record: JobRecord) -> str:
    return client.get(reverse("admin:django_arq_jobrecord_change", args=[record.pk])).content.decode()


def test_the_trace_id_is_shown_and_linked_through_the_setting(
    superuser_client: Client, make_record: Callable[..., JobRecord]
) -> None:
    record = make_record(trace_id=TRACE_ID)
    html = page(superuser_client, record)
    assert f"<code>{TRACE_ID}</code>" in html and "tempo.example" not in html
    with override_settings(ARQ_TRACE_URL="https://tempo.example/trace/{trace_id}?from=admin&x=1"):
        html = page(superuser_client, record)
    assert f'<a href="https://tempo.example/trace/{TRACE_ID}?from=admin&amp;x=1" rel="noopener">' in html


@pytest.mark.parametrize("template", ["https://tempo.example/trace/", 42, None, "javascript:x//{trace_id}"])
def test_a_template_without_the_trace_id_gives_no_link(
    template: object, superuser_client: Client, make_record: Callable[..., JobRecord]
) -> None:
    with override_settings(ARQ_TRACE_URL=template):
        html = page(superuser_client, make_record(trace_id=TRACE_ID))
    assert f"<code>{TRACE_ID}</code>" in html and "tempo.example" not in html


def test_a_stored_trace_id_is_escaped(
    superuser_client: Client, make_record: Callable[..., JobRecord]
) -> None:
    with override_settings(ARQ_TRACE_URL="https://tempo.example/{trace_id}"):
        html = page(superuser_client, make_record(trace_id='"><script>x'))
    assert "<script>x" not in html
    assert 'href="https://tempo.example/%22%3E%3Cscript%3Ex"' in html


def test_a_job_without_a_trace_shows_a_dash(
    superuser_client: Client, make_record: Callable[..., JobRecord]
) -> None:
    html = page(superuser_client, make_record())
    assert "trace" in html.lower() and f"<code>{TRACE_ID}</code>" not in html


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        ("https://tempo.example/trace/", "a string with {trace_id} in it"),
        (42, "a string with {trace_id} in it"),
        ("javascript:alert(1)//{trace_id}", "an http:// or https:// address"),
        ("tempo.example/{trace_id}", "an http:// or https:// address"),
        ("http://[::1/{trace_id}", "a valid http:// or https:// address"),  # urlsplit raised
    ],
)
def test_a_trace_url_that_cannot_link_is_reported_by_the_checks(template: object, problem: str) -> None:
    with override_settings(ARQ_TRACE_URL=template):
        (error,) = check_trace_url()
    assert error.id == "django_arq.E021"
    assert error.msg.startswith(f"ARQ_TRACE_URL must be {problem}, not {template!r}")
    with override_settings(ARQ_TRACE_URL=template):
        assert trace_url(TRACE_ID) is None  # the admin shows the id without a link


@pytest.mark.parametrize("template", [None, "http://jaeger:16686/trace/{trace_id}"])
def test_no_trace_url_or_a_usable_one_passes_the_checks(template: object) -> None:
    with override_settings(ARQ_TRACE_URL=template):
        assert check_trace_url() == []
