"""The OpenAPI document: shipped, served, complete; and Schemathesis run against the live ASGI server."""

from __future__ import annotations

import ast
import copy
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from django.test import AsyncClient
from django.urls import URLPattern, get_resolver
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

import django_arq.api
from django_arq.api.errors import _JOB_ERRORS
from django_arq.api.openapi import openapi_document
from tests.api.conftest import TOKEN

pytestmark = pytest.mark.django_db(transaction=True)

AUTH = {"Authorization": f"Bearer {TOKEN}"}
#: Cases per run (``DJANGO_ARQ_SCHEMATHESIS_EXAMPLES`` for a longer, random run): enough to find what
#: the first versions of the API got wrong, in seconds.
EXAMPLES = int(os.environ.get("DJANGO_ARQ_SCHEMATHESIS_EXAMPLES", "60"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def _error_codes_in_source() -> set[str]:
    """The ``code`` of every ``ApiError(status, code, ...)`` / ``error_response(...)`` in the API package."""
    codes = {code for _, _, code in _JOB_ERRORS}
    for path in Path(django_arq.api.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", None) in ("ApiError", "error_response")
                and len(node.args) >= 2
                and isinstance(node.args[1], ast.Constant)
            ):
                codes.add(node.args[1].value)
    return codes


def test_document_is_openapi_3_1_and_describes_every_url_and_error() -> None:
    document = openapi_document()
    assert document["openapi"].startswith("3.1.")
    schema = schemathesis.openapi.from_dict(document)  # refuses a document that is not valid OpenAPI
    operations = {(op.ok().method.upper(), op.ok().path) for op in schema.get_all_operations()}
    assert operations == {
        ("POST", "/jobs/"),
        ("GET", "/jobs/{job_id}/"),
        ("GET", "/jobs/{job_id}/result/"),
        ("POST", "/jobs/{job_id}/abort/"),
        ("GET", "/openapi.json"),
        ("GET", "/metrics"),
    }
    routes = {
        str(p.pattern).replace("<django_arq_any:job_id>", "{job_id}")
        for p in get_resolver("django_arq.urls").url_patterns
        if isinstance(p, URLPattern) and p.name
    }
    assert {f"/{r}" for r in routes} == {path for _, path in operations}
    listed = {
        code
        for response in document["components"]["responses"].values()
        for code in response["content"]["application/json"]["schema"]["allOf"][1]["properties"]["error"][
            "enum"
        ]
    }
    assert _error_codes_in_source() == listed
    statuses = {
        s
        for item in document["paths"].values()
        for op in item.values()
        if "responses" in op
        for s in op["responses"]
    }
    assert {"400", "401", "403", "404", "409", "413", "429"} <= statuses
    assert set(document["components"]["securitySchemes"]) == {"bearerAuth", "sessionAuth"}


async def test_served_document_names_the_mount_point_and_the_settings(settings: Any) -> None:
    settings.ARQ_API_MAX_WAIT = 12.5
    response = await AsyncClient().get("/arq/openapi.json")  # no credentials needed
    assert response.status_code == 200
    served = response.json()
    assert served["servers"] == [{"url": "/arq"}]
    waits = [
        p["schema"]["maximum"]
        for item in served["paths"].values()
        for op in item.values()
        if isinstance(op, dict)
        for p in op.get("parameters", [])
        if p["name"] in ("wait", "timeout")
    ]
    assert waits and set(waits) == {12.5}
    assert served["paths"] == {
        path: _with_max_wait(item, 12.5) for path, item in openapi_document()["paths"].items()
    }
    refused = await AsyncClient().post("/arq/openapi.json")
    assert (refused.status_code, refused["Allow"]) == (405, "GET, HEAD")


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
async def test_other_methods_on_the_document_get_the_apis_json_405_even_with_csrf_checks(method: str) -> None:
    """Not Django's HTML CSRF page: the document is read-only, so no CSRF check applies to it."""
    refused = await getattr(AsyncClient(enforce_csrf_checks=True), method)("/arq/openapi.json")
    assert (refused.status_code, refused["Content-Type"], refused["Allow"]) == (
        405,
        "application/json",
        "GET, HEAD",
    )
    assert refused.json()["error"] == "method_not_allowed"


def _with_max_wait(item: dict[str, Any], maximum: float) -> dict[str, Any]:
    item = copy.deepcopy(item)
    for op in item.values():
        for p in op.get("parameters", []) if isinstance(op, dict) else []:
            if p["name"] in ("wait", "timeout"):
                p["schema"]["maximum"] = maximum
    return item


def _schema(base_url: str, document: dict[str, Any]) -> Any:
    schema = schemathesis.openapi.from_dict(document)
    schema.config.update(base_url=f"{base_url}/arq")
    return schema


def _run(schema: Any, mode: schemathesis.GenerationMode, checks: list[Any]) -> None:
    @given(case=schema.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        # The same cases on every run of the suite (a failure is one to fix, not a fluke); a longer
        # run asked for by the environment explores new ones.
        derandomize="DJANGO_ARQ_SCHEMATHESIS_EXAMPLES" not in os.environ,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: schemathesis.Case) -> None:
        case.call_and_validate(headers=AUTH, checks=checks, timeout=60)

    run()


@pytest.fixture
def fuzzed_server_url(start_live_server: Callable[..., str]) -> str:
    """uvicorn whose aborts wait a moment only for a worker (no worker runs the fuzzer's jobs)."""
    return start_live_server(DJANGO_ARQ_LIVE_ABORT_TIMEOUT="0.2")


def test_schemathesis_positive(fuzzed_server_url: str, lonely_queue: str) -> None:
    """Valid requests, steered to the test tasks and a queue no worker serves: no 5xx, all as documented."""
    document = httpx.get(f"{fuzzed_server_url}/arq/openapi.json").json()
    fields = document["components"]["schemas"]["EnqueueRequest"]["properties"]
    fields["name"]["enum"] = ["tests.jobs.add", "tests.jobs.echo"]
    fields["queue"]["enum"] = [lonely_queue]
    fields["alias"]["enum"] = ["default"]
    for item in document["paths"].values():
        for op in item.values():
            for parameter in op.get("parameters", []) if isinstance(op, dict) else []:
                if parameter["name"] in ("alias", "queue"):
                    parameter["schema"]["enum"] = (
                        ["default"] if parameter["name"] == "alias" else [lonely_queue]
                    )
                if parameter["name"] in ("wait", "timeout"):  # quick answers: no worker runs these jobs
                    parameter["schema"]["maximum"] = 0.2
    _run(_schema(fuzzed_server_url, document), schemathesis.GenerationMode.POSITIVE, CHECKS)


def test_schemathesis_negative(fuzzed_server_url: str) -> None:
    """Requests that break the document: refused with a documented 4xx, never a 5xx."""
    document = httpx.get(f"{fuzzed_server_url}/arq/openapi.json").json()
    _run(
        _schema(fuzzed_server_url, document),
        schemathesis.GenerationMode.NEGATIVE,
        [*CHECKS, negative_data_rejection],
    )
