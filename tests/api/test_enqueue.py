"""POST jobs/: enqueue through the API, with every way a request can be wrong."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import pytest
from django.conf import settings
from django.test import AsyncClient

from django_arq import get_queue
from django_arq.audit.on_commit import aflush_records
from django_arq.models import JobRecord
from tests.api.conftest import post_json
from tests.helpers import free_port

pytestmark = pytest.mark.django_db(transaction=True)

URL = "/arq/jobs/"


async def test_enqueue_returns_metadata_and_writes_redis_and_record(
    auth: dict[str, str], lonely_queue: str
) -> None:
    body = {"name": "tests.jobs.add", "args": [2, 3], "defer_by": 600, "queue": lonely_queue}
    response = await post_json(AsyncClient(), URL, body, auth)
    assert response.status_code == 201, response.content
    data = response.json()
    assert set(data) == {
        "id",
        "name",
        "args",
        "kwargs",
        "enqueue_time",
        "status",
        "queue_name",
        "alias",
        "progress",
        "trace_id",
    }
    assert data["name"] == "tests.jobs.add"
    assert data["args"] == [2, 3]
    assert data["kwargs"] == {}
    assert data["status"] == "deferred"
    assert data["queue_name"] == lonely_queue
    assert data["alias"] == "default"
    assert dt.datetime.fromisoformat(data["enqueue_time"]).tzinfo is not None
    assert response["Location"].startswith(f"/arq/jobs/{data['id']}/")
    in_redis = await get_queue().get_job_metadata(data["id"], lonely_queue)
    assert (in_redis.name, in_redis.args, in_redis.status.value) == ("tests.jobs.add", (2, 3), "deferred")
    assert await aflush_records()
    record = await JobRecord.objects.aget(job_id=data["id"])
    assert (record.name, record.args, record.status, record.alias) == (
        "tests.jobs.add",
        [2, 3],
        "deferred",
        "default",
    )


async def test_enqueue_with_every_option_runs_on_a_worker(auth: dict[str, str], arq_workers: Any) -> None:
    job_id = f"api-every-option-{uuid.uuid4().hex}"
    body = {
        "name": "tests.jobs.echo",
        "args": [1, "two", [3], {"four": 4}, None, True, 2.5],
        "kwargs": {"key": "value"},
        "queue": settings.TEST_OTHER_QUEUE,
        "alias": "default",
        "job_id": job_id,
        "defer_by": 0.1,
    }
    client = AsyncClient()
    response = await post_json(client, URL, body, auth)
    assert response.status_code == 201, response.content
    assert response.json()["id"] == job_id
    assert response.json()["queue_name"] == settings.TEST_OTHER_QUEUE
    done = await client.get(response["Location"] + "&wait=10", headers=auth)
    assert done.status_code == 200
    assert done.json()["status"] == "complete"
    assert done.json()["result"] == {"args": body["args"], "kwargs": {"key": "value"}, "job_try": 1}


BAD_BODIES = [
    ({}, "invalid_field", "'name' is required"),
    ({"name": 5}, "invalid_field", "'name'"),
    ({"name": ""}, "invalid_field", "'name'"),
    ({"name": "tests.jobs.add", "args": {"a": 1}}, "invalid_field", "'args'"),
    ({"name": "tests.jobs.add", "args": "1, 2"}, "invalid_field", "'args'"),
    ({"name": "tests.jobs.add", "kwargs": [1]}, "invalid_field", "'kwargs'"),
    ({"name": "tests.jobs.add", "queue": 5}, "invalid_field", "'queue'"),
    ({"name": "tests.jobs.add", "alias": ["default"]}, "invalid_field", "'alias'"),
    ({"name": "tests.jobs.add", "alias": "nope"}, "unknown_alias", "'nope'"),
    ({"name": "tests.jobs.add", "job_id": 5}, "invalid_field", "'job_id'"),
    ({"name": "tests.jobs.add", "job_id": "has space"}, "invalid_job_id", "job id"),
    ({"name": "tests.jobs.add", "job_id": "x" * 201}, "invalid_job_id", "job id"),
    ({"name": "tests.jobs.add", "defer_by": -1}, "invalid_field", "'defer_by'"),
    ({"name": "tests.jobs.add", "defer_by": True}, "invalid_field", "'defer_by'"),
    ({"name": "tests.jobs.add", "defer_by": "soon"}, "invalid_field", "'defer_by'"),
    ({"name": "tests.jobs.add", "priority": 1}, "unknown_field", "priority"),
    ({"name": "tests.jobs.sync_add"}, "unknown_task", "tests.jobs.sync_add"),
    ({"name": "os.system", "args": ["rm -rf /"]}, "unknown_task", "os.system"),
    ({"name": "tests.jobs.add", "alias": "mock"}, "unknown_task", "FUNCTIONS"),
    ([1, 2], "invalid_body", "JSON object"),
    ("null", "invalid_body", "JSON object"),
    ("{not json", "invalid_json", "not valid JSON"),
    (b'{"name": "\xff"}', "invalid_json", "not valid JSON"),
    ("", "invalid_json", "not valid JSON"),
    ('{"name": "tests.jobs.echo", "args": ' + "[" * 100_000 + "]" * 100_000 + "}", "invalid_json", "nested"),
]


@pytest.mark.parametrize(("body", "code", "detail"), BAD_BODIES)
async def test_bad_request_is_400_and_enqueues_nothing(
    auth: dict[str, str], body: Any, code: str, detail: str
) -> None:
    response = await post_json(AsyncClient(), URL, body, auth)
    assert response.status_code == 400, response.content
    assert response.json()["error"] == code
    assert detail in response.json()["detail"]
    assert await aflush_records()
    assert await JobRecord.objects.acount() == 0


async def test_deep_but_parseable_arguments_are_enqueued_and_shown_readably(
    auth: dict[str, str], lonely_queue: str
) -> None:
    nested: Any = "bottom"
    for _ in range(200):
        nested = [nested]
    body = {"name": "tests.jobs.echo", "args": [nested], "queue": lonely_queue}
    response = await post_json(AsyncClient(), URL, body, auth)
    assert response.status_code == 201
    assert "nested too deeply" in json.dumps(response.json()["args"])
    stored = await get_queue().get_job_metadata(response.json()["id"], lonely_queue)
    assert stored.args == (nested,)  # the job itself gets the exact value


async def test_non_json_content_type_is_415(auth: dict[str, str]) -> None:
    response = await AsyncClient().post(URL, {"name": "tests.jobs.add"}, headers=auth)  # a form post
    assert response.status_code == 415
    assert response.json()["error"] == "unsupported_media_type"


async def test_body_over_the_default_limit_is_413(auth: dict[str, str]) -> None:
    body = {"name": "tests.jobs.echo", "args": ["x" * (256 * 1024)]}
    response = await post_json(AsyncClient(), URL, body, auth)
    assert response.status_code == 413
    assert response.json() == {
        "error": "body_too_large",
        "detail": "the request body is larger than 262144 bytes",
    }
    assert await aflush_records()
    assert await JobRecord.objects.acount() == 0


async def test_body_limit_is_a_setting(auth: dict[str, str], settings: Any, lonely_queue: str) -> None:
    settings.ARQ_API_MAX_BODY_SIZE = 40
    small = await post_json(AsyncClient(), URL, {"name": "tests.jobs.add", "args": [1, 2]}, auth)
    assert small.status_code == 413
    settings.ARQ_API_MAX_BODY_SIZE = 4000
    fits = await post_json(
        AsyncClient(), URL, {"name": "tests.jobs.add", "args": [1, 2], "queue": lonely_queue}, auth
    )
    assert fits.status_code == 201


async def test_duplicate_job_id_is_409_and_keeps_the_first_job(
    auth: dict[str, str], lonely_queue: str
) -> None:
    job_id = f"api-duplicate-{uuid.uuid4().hex}"
    first = {"name": "tests.jobs.add", "args": [1, 1], "job_id": job_id, "queue": lonely_queue}
    assert (await post_json(AsyncClient(), URL, first, auth)).status_code == 201
    second = {**first, "args": [9, 9]}
    response = await post_json(AsyncClient(), URL, second, auth)
    assert response.status_code == 409
    assert response.json()["error"] == "job_not_queued"
    assert job_id in response.json()["detail"]
    assert await aflush_records()
    records = [r async for r in JobRecord.objects.filter(job_id=job_id)]
    assert [r.args for r in records] == [[1, 1]]
    assert (await get_queue().get_job_metadata(job_id, lonely_queue)).args == (1, 1)


async def test_redis_down_is_503_and_leaves_no_record(auth: dict[str, str], settings: Any) -> None:
    down = f"redis://127.0.0.1:{free_port()}/0"
    settings.ARQ_QUEUES = {
        **settings.ARQ_QUEUES,
        "down": {
            "BACKEND": "django_arq.RedisArqQueue",
            "REDIS_URL": down,
            "WORKER": {"FUNCTIONS": ["tests.jobs.add"]},
        },
    }
    client = AsyncClient()
    response = await post_json(client, URL, {"name": "tests.jobs.add", "args": [1, 2], "alias": "down"}, auth)
    assert response.status_code == 503
    assert response.json()["error"] == "redis_unavailable"
    assert down in response.json()["detail"]
    assert await aflush_records()
    assert await JobRecord.objects.acount() == 0
    for url in ("/arq/jobs/x/?alias=down", "/arq/jobs/x/result/?alias=down"):
        assert (await client.get(url, headers=auth)).status_code == 503
    assert (await client.post("/arq/jobs/x/abort/?alias=down", headers=auth)).status_code == 503


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", URL),
        ("put", URL),
        ("delete", "/arq/jobs/abc/"),
        ("post", "/arq/jobs/abc/"),
        ("get", "/arq/jobs/abc/abort/"),
    ],
)
async def test_wrong_method_is_405(auth: dict[str, str], method: str, url: str) -> None:
    response = await getattr(AsyncClient(), method)(url, headers=auth)
    assert response.status_code == 405
    assert response.json()["error"] == "method_not_allowed"
    assert response["Allow"] in ("GET, HEAD", "POST")
