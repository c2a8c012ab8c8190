"""A request to a real ASGI server, in OpenTelemetry's ASGI middleware, that enqueues a job: the
request's server span is the ancestor of the enqueue span and of the real worker's run span,
all one trace, carried from the web process through Redis to the worker process."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from django_arq.models import JobRecord
from tests.api.conftest import TOKEN, start_live_server  # noqa: F401 - a fixture
from tests.helpers import wait_for
from tests.tracing.conftest import TracedWorkers
from tests.tracing.exporter import read_spans

pytestmark = pytest.mark.django_db(transaction=True)


def ancestors(span: dict[str, Any], by_id: dict[str, dict[str, Any]]) -> list[str]:
    """The span ids above ``span``, nearest first, as far as ``by_id`` knows them."""
    found = []
    parent = span["parent_id"]
    while parent is not None:
        found.append(parent)
        parent = by_id[parent]["parent_id"] if parent in by_id else None
    return found


def test_the_request_span_is_the_ancestor_of_the_enqueue_and_of_the_run(
    start_live_server: Callable[..., str],  # noqa: F811
    traced_workers: TracedWorkers,
    tmp_path: Path,
) -> None:
    web_spans = tmp_path / "web.jsonl"
    base = start_live_server(app="tests.tracing.asgi:application", DJANGO_ARQ_TEST_SPANS=str(web_spans))
    response = httpx.post(
        f"{base}/arq/jobs/",
        json={"name": "tests.jobs.add", "args": [2, 3], "queue": traced_workers.queue_name},
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    job_id = response.json()["id"]

    def server_spans() -> list[dict[str, Any]]:
        spans = read_spans(web_spans)
        return spans if any(s["kind"] == "SpanKind.SERVER" for s in spans) else []

    web = wait_for(server_spans, timeout=30)  # the server span ends once the response is sent
    (server,) = [s for s in web if s["kind"] == "SpanKind.SERVER"]
    (enqueue,) = [s for s in web if s["kind"] == "SpanKind.PRODUCER"]
    assert server["name"] == "POST /arq/jobs/"
    assert server["parent_id"] is None
    assert enqueue["name"] == "enqueue tests.jobs.add"
    assert enqueue["attributes"]["arq.job.id"] == job_id

    traced_workers.burst()
    run = traced_workers.spans_of({job_id})[job_id]
    assert run["attributes"]["arq.job.outcome"] == "success"
    by_id = {s["context"]["span_id"]: s for s in [*web, run]}
    assert run["parent_id"] == enqueue["context"]["span_id"]
    assert server["context"]["span_id"] in ancestors(enqueue, by_id)
    assert server["context"]["span_id"] in ancestors(run, by_id)
    trace_id = server["context"]["trace_id"]
    assert enqueue["context"]["trace_id"] == run["context"]["trace_id"] == trace_id
    assert JobRecord.objects.get(job_id=job_id).trace_id == trace_id[2:]
