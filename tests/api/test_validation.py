"""Input the API refuses with a clear 400 (ids, names, delays), and input it accepts without crashing."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from arq.jobs import deserialize_job
from django.test import AsyncClient

from django_arq import get_queue
from django_arq.api.parsing import DEFAULT_MAX_BODY_SIZE, MAX_DEFER_BY
from django_arq.audit.on_commit import aflush_records
from django_arq.models import JobRecord
from tests.api.conftest import TOKEN, post_json

pytestmark = pytest.mark.django_db(transaction=True)

URL = "/arq/jobs/"
ADD = {"name": "tests.jobs.add", "args": [1, 2]}

BAD_BODIES = [
    ({**ADD, "job_id": "abc\n"}, "invalid_job_id"),
    ({**ADD, "job_id": "."}, "invalid_job_id"),
    ({**ADD, "job_id": ".."}, "invalid_job_id"),
    ({**ADD, "job_id": "a/b"}, "invalid_job_id"),
    ({**ADD, "queue": "\ud800"}, "invalid_field"),
    ({**ADD, "queue": "a\x00b"}, "invalid_field"),
    ({**ADD, "queue": "line\nbreak"}, "invalid_field"),
    ({**ADD, "queue": "q" * 256}, "invalid_field"),
    ({**ADD, "alias": "\udfff"}, "invalid_field"),
    ({**ADD, "name": "tests.jobs.add\n"}, "invalid_field"),
    ({**ADD, "defer_by": 1e306}, "invalid_field"),
    ({**ADD, "defer_by": 1e300}, "invalid_field"),
    ({**ADD, "defer_by": MAX_DEFER_BY * 1.01}, "invalid_field"),
    ({**ADD, "defer_by": "inf"}, "invalid_field"),
]


@pytest.mark.parametrize(("body", "code"), BAD_BODIES, ids=[repr(b)[-40:] for b, _ in BAD_BODIES])
async def test_bad_values_are_400_and_enqueue_nothing(
    auth: dict[str, str], redis_client: Any, body: dict[str, Any], code: str
) -> None:
    marker = uuid.uuid4().int  # this request's job, told apart from other processes' jobs
    jobs_before = set(redis_client.scan_iter("arq:job:*", count=1000))
    response = await post_json(AsyncClient(), URL, {**body, "args": [1, marker]}, auth)
    assert response.status_code == 400, response.content
    assert set(response.json()) == {"error", "detail"}
    assert response.json()["error"] == code
    assert await aflush_records()
    assert await JobRecord.objects.acount() == 0
    new = set(redis_client.scan_iter("arq:job:*", count=1000)) - jobs_before
    payloads = [redis_client.get(key) for key in new]
    assert not [p for p in payloads if p is not None and deserialize_job(p).args == (1, marker)]


@pytest.mark.parametrize("job_id", ["abc%0A", "%2E", "%2E%2E", "a/b", "a%2Fb", "x%00"])
async def test_bad_job_ids_in_urls_are_400(auth: dict[str, str], job_id: str) -> None:
    client = AsyncClient()
    for url in (f"/arq/jobs/{job_id}/", f"/arq/jobs/{job_id}/result/"):
        response = await client.get(url, headers=auth)
        assert (response.status_code, response.json()["error"]) == (400, "invalid_job_id"), url
    response = await client.post(f"/arq/jobs/{job_id}/abort/", headers=auth)
    assert (response.status_code, response.json()["error"]) == (400, "invalid_job_id")


async def test_other_urls_under_jobs_are_json_404(auth: dict[str, str]) -> None:
    response = await AsyncClient().get("/arq/jobs//", headers=auth)
    assert (response.status_code, response.json()["error"]) == (404, "not_found")


@pytest.mark.parametrize("query", ["queue=%00", "queue=a%0Ab", "queue=" + "q" * 256, "alias=%1F"])
async def test_bad_names_in_queries_are_400(auth: dict[str, str], query: str) -> None:
    response = await AsyncClient().get(f"/arq/jobs/some-id/?{query}", headers=auth)
    assert (response.status_code, response.json()["error"]) == (400, "invalid_field")


@pytest.fixture
def unaudited(settings: Any, lonely_queue: str) -> Iterator[str]:
    """An alias without records, whose default queue is ``lonely_queue``."""
    settings.ARQ_QUEUES = {
        **settings.ARQ_QUEUES,
        "unaudited": {
            "BACKEND": "django_arq.RedisArqQueue",
            "REDIS_URL": settings.ARQ_QUEUES["default"]["REDIS_URL"],
            "DEFAULT_QUEUE_NAME": lonely_queue,
            "AUDIT": False,
            "WORKER": {"FUNCTIONS": ["tests.jobs.echo"]},
        },
    }
    yield "unaudited"


async def test_lone_surrogates_in_arguments_do_not_crash_any_response(
    auth: dict[str, str], unaudited: str, lonely_queue: str
) -> None:
    args = ["\ud800", {"k\udfff": ["\ud83d"]}]
    body = {"name": "tests.jobs.echo", "args": args, "kwargs": {"x": "\udc00"}, "alias": unaudited}
    client = AsyncClient()
    response = await post_json(client, URL, body, auth)
    assert response.status_code == 201, response.content
    assert b"\\ud800" in response.content  # escaped: the body is valid UTF-8
    assert (response.json()["args"], response.json()["kwargs"]) == (args, {"x": "\udc00"})
    job_url = response["Location"]
    for url in (job_url, job_url.replace("/?", "/result/?"), job_url + "&wait=0.1"):
        shown = await client.get(url, headers=auth)
        assert shown.status_code in (200, 409), shown.content
        assert shown.json().get("args", args) == args
    stored = await get_queue(unaudited).get_job_metadata(response.json()["id"], lonely_queue)
    assert stored.args == tuple(args)


async def test_body_of_exactly_the_limit_is_accepted(
    auth: dict[str, str], settings: Any, lonely_queue: str
) -> None:
    body = json.dumps({"name": "tests.jobs.echo", "args": ["x" * 100], "queue": lonely_queue})
    settings.ARQ_API_MAX_BODY_SIZE = len(body.encode())
    fits = await post_json(AsyncClient(), URL, body, auth)
    assert fits.status_code == 201, fits.content
    settings.ARQ_API_MAX_BODY_SIZE = len(body.encode()) - 1
    over = await post_json(AsyncClient(), URL, body, auth)
    assert (over.status_code, over.json()["error"]) == (413, "body_too_large")


async def test_chunked_body_without_content_length_is_bounded(
    live_server_url: str, lonely_queue: str, redis_client: Any
) -> None:
    """A chunked body has no Content-Length: the limit is applied to what arrives."""
    body = json.dumps({"name": "tests.jobs.echo", "args": ["x" * 1000], "queue": lonely_queue}).encode()

    async def chunks(data: bytes, size: int = 4096) -> AsyncIterator[bytes]:
        for i in range(0, len(data), size):
            yield data[i : i + size]

    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    async with httpx.AsyncClient(base_url=live_server_url, headers=headers, timeout=60) as client:
        small = await client.post(URL, content=chunks(body))
        assert "content-length" not in small.request.headers
        assert small.request.headers["transfer-encoding"] == "chunked"
        assert small.status_code == 201, small.text
        oversized = body.replace(b"x" * 1000, b"x" * (DEFAULT_MAX_BODY_SIZE + 1))
        refused = await client.post(URL, content=chunks(oversized))
        assert refused.request.headers["transfer-encoding"] == "chunked"
        assert (refused.status_code, refused.json()["error"]) == (413, "body_too_large")
    assert redis_client.zcard(lonely_queue) == 1


async def test_empty_query_values_mean_the_defaults(
    auth: dict[str, str], unaudited: str, lonely_queue: str
) -> None:
    """As the OpenAPI document says (Schemathesis's coverage phase found the document wrong here)."""
    body = {"name": "tests.jobs.echo", "defer_by": 600, "alias": unaudited}
    client = AsyncClient()
    job_id = (await post_json(client, URL, body, auth)).json()["id"]
    for query in (f"alias={unaudited}&queue=", f"alias=&queue={lonely_queue}"):
        response = await client.get(f"/arq/jobs/{job_id}/?{query}", headers=auth)
        assert (response.status_code, response.json()["status"]) == (200, "deferred"), query
        assert response.json()["queue_name"] == lonely_queue
