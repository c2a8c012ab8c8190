"""The queue dashboard: counts from arq's keys in Redis, worker health, the last hour from records."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, cast

import pytest
import redis
from django.conf import settings
from django.test import Client, override_settings
from django.utils import timezone

from django_arq import ArqQueue, MockArqQueue, get_queue
from django_arq.admin.dashboard import MINUTES, QUEUES_DISCOVERED, QueueStats, throughput_svg
from django_arq.models import JobRecord
from django_arq.queues import protocol
from tests.admin.conftest import WORKER_QUEUE
from tests.helpers import Process, free_port, wait_for

pytestmark = pytest.mark.django_db

DASHBOARD = "/admin/django_arq/jobrecord/dashboard/"


def stats_for(response: object, alias: str, queue_name: str) -> QueueStats:
    found = [s for s in response.context["queues"] if (s.alias, s.queue_name) == (alias, queue_name)]  # type: ignore[attr-defined]
    assert len(found) == 1, [(s.alias, s.queue_name) for s in response.context["queues"]]  # type: ignore[attr-defined]
    return found[0]


def test_counts_health_and_last_hour(
    viewer_client: Client, queue_name: str, redis_client: redis.Redis, make_record: Callable[..., JobRecord]
) -> None:
    queue = get_queue()
    for i in range(3):
        queue.enqueue_sync("tests.jobs.add", i, i, _queue_name=queue_name)
    for _ in range(2):
        queue.enqueue_sync("tests.jobs.add", 0, 0, _queue_name=queue_name, _defer_by=600)
    running = queue.enqueue_sync("tests.jobs.sleep_for", 9, _queue_name=queue_name)
    redis_client.psetex(f"arq:in-progress:{running.id}", 60_000, b"1")  # as a worker marks a job it took
    redis_client.psetex(
        f"{queue_name}:health-check", 6_000, b"Nov-29 03:00:00 j_complete=6 j_failed=2 queued=3"
    )
    now = timezone.now()
    for minutes_ago, success in [(5, True)] * 4 + [(2, False)] * 2 + [(90, False)]:
        finished = now - dt.timedelta(minutes=minutes_ago)
        make_record(queue_name=queue_name, status="complete", success=success, finish_time=finished)

    response = viewer_client.get(DASHBOARD)
    assert response.status_code == 200
    s = stats_for(response, "default", queue_name)
    assert (s.queued, s.deferred, s.in_progress, s.in_progress_capped) == (3, 2, 1, False)
    assert s.health == "Nov-29 03:00:00 j_complete=6 j_failed=2 queued=3"
    assert s.health_ttl is not None and 0 < s.health_ttl <= 6
    assert (s.finished_last_hour, s.failures_last_hour) == (6, 2)
    # 5 and 2 minutes ago by the test's clock: a minute later by the view's if a minute turned between
    assert sum(s.succeeded[-7:-5]) == 4 and sum(s.failed[-4:-2]) == 2 and len(s.succeeded) == MINUTES
    html = response.content.decode()
    assert "Jobs finished per minute over the last hour: 4 succeeded, 2 failed" in html
    five_ago = (now - dt.timedelta(minutes=5)).astimezone(dt.UTC).strftime("%H:%M UTC")
    assert f"<title>{five_ago}: 4 succeeded, 0 failed</title>" in html
    assert "<script" not in html.split('id="content-main"')[1] and "http://" not in html.replace(
        'xmlns="http://www.w3.org/2000/svg"', ""
    )


def test_queue_without_worker_and_a_real_worker(
    viewer_client: Client,
    queue_name: str,
    worker_queue: str,
    admin_worker: Process,
    redis_client: redis.Redis,
) -> None:
    get_queue().enqueue_sync("tests.jobs.add", 1, 1, _queue_name=queue_name)
    get_queue().enqueue_sync("tests.jobs.add", 1, 1, _queue_name=worker_queue)
    wait_for(lambda: redis_client.exists(f"{WORKER_QUEUE}:health-check"), timeout=10)
    response = viewer_client.get(DASHBOARD)
    idle, busy = stats_for(response, "default", queue_name), stats_for(response, "default", worker_queue)
    assert idle.health is None and idle.queued == 1
    assert busy.health is not None and "j_complete=" in busy.health
    html = response.content.decode()
    assert "no worker reporting" in html and "reporting</span>" in html
    assert stats_for(response, "mock", settings.TEST_QUEUE).note.startswith("in-memory")


def test_in_progress_scan_is_bounded(
    viewer_client: Client, queue_name: str, redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(protocol, "IN_PROGRESS_SCAN", 2)
    for i in range(4):
        get_queue().enqueue_sync("tests.jobs.add", i, i, _queue_name=queue_name)
    first = cast(list[bytes], redis_client.zrange(queue_name, 0, 0))[0]  # the scan's first (ms ties)
    redis_client.psetex(b"arq:in-progress:" + first, 60_000, b"1")
    s = stats_for(viewer_client.get(DASHBOARD), "default", queue_name)
    assert (s.in_progress, s.in_progress_capped, s.queued) == (1, True, 3)


def test_redis_down_still_renders(viewer_client: Client) -> None:
    down = {"BACKEND": "django_arq.RedisArqQueue", "REDIS_URL": f"redis://:pw@127.0.0.1:{free_port()}/0"}
    with override_settings(ARQ_QUEUES={**settings.ARQ_QUEUES, "down": down}):
        response = viewer_client.get(DASHBOARD)
    assert response.status_code == 200
    s = stats_for(response, "down", "arq:queue")
    assert s.unavailable.startswith("Redis at redis://:***@127.0.0.1:") and "unavailable" in s.unavailable
    assert s.queued is None
    assert stats_for(response, "default", settings.TEST_QUEUE).unavailable == ""
    assert "is unavailable" in response.content.decode()


def test_dashboard_permissions(client: Client, db: None) -> None:
    from django.contrib.auth.models import User

    assert client.get(DASHBOARD)["Location"].startswith("/admin/login/")
    client.force_login(User.objects.create_user("staff", password="pw", is_staff=True))
    assert client.get(DASHBOARD).status_code == 403


def test_svg_is_self_contained() -> None:
    ok, ko = [0] * MINUTES, [0] * MINUTES
    ok[10], ko[10], ko[59] = 3, 1, 4
    svg = str(throughput_svg(ok, ko, None))
    assert svg.startswith('<svg class="arq-chart"') and svg.count("<rect") == 3 * MINUTES
    assert "<title>minute 11: 3 succeeded, 1 failed</title>" in svg
    assert "href" not in svg and "<script" not in svg


def test_worker_queue_name_is_listed_without_any_record(viewer_client: Client) -> None:
    aliases = {
        **settings.ARQ_QUEUES,
        "mock": {**settings.ARQ_QUEUES["mock"], "WORKER": {"QUEUE_NAME": "side-q"}},
    }
    with override_settings(ARQ_QUEUES=aliases):
        response = viewer_client.get(DASHBOARD)
    assert stats_for(response, "mock", "side-q").queued == 0


class CustomQueue(ArqQueue):
    """A backend the dashboard has no counts for (neither Redis nor the mock)."""

    async def enqueue_many(self, jobs: Any) -> Any:
        raise NotImplementedError

    async def abort_job(
        self, job_id: str, queue_name: str | None = None, *, timeout: float | None = None
    ) -> bool:
        raise NotImplementedError

    async def get_job_metadata(self, job_id: str, queue_name: str | None = None) -> Any:
        raise NotImplementedError

    async def get_job_result(self, job_id: str, queue_name: str | None = None) -> Any:
        raise NotImplementedError


def test_mock_counts_broken_alias_and_other_backends(viewer_client: Client) -> None:
    from asgiref.sync import async_to_sync

    aliases = {
        **settings.ARQ_QUEUES,
        "broken": {"BACKEND": "django_arq.RedisArqQueue", "REDIS_URL": "ftp://nowhere"},
        "custom": {"BACKEND": "tests.admin.test_dashboard.CustomQueue"},
    }
    with override_settings(ARQ_QUEUES=aliases):
        mock = get_queue("mock")
        mock.enqueue_sync("tests.jobs.add", 1, 1)
        mock.enqueue_sync("tests.jobs.add", 1, 1, _defer_by=600)
        running = mock.enqueue_sync("tests.jobs.add", 1, 1)
        async_to_sync(cast(MockArqQueue, mock.backend).set_in_progress)(running.id)
        response = viewer_client.get(DASHBOARD)
    assert response.status_code == 200
    m = stats_for(response, "mock", settings.TEST_QUEUE)
    assert (m.queued, m.deferred, m.in_progress) == (1, 1, 1)
    assert "cannot be built" in stats_for(response, "broken", "-").unavailable
    assert (
        "CustomQueue does not expose queue counts" in stats_for(response, "custom", "arq:queue").unavailable
    )


def test_junk_queue_names_cannot_crowd_out_real_queues(
    viewer_client: Client, queue_name: str, make_record: Callable[..., JobRecord]
) -> None:
    """A flood of odd queue names, a job each and newer than everything else, finished or not."""
    now = timezone.now()
    for i in range(5):  # a queue in real use, not configured: busier than any junk queue
        make_record(queue_name=queue_name, enqueue_time=now - dt.timedelta(hours=3, minutes=i))
    junk = [f"!{i:03d}-junk" for i in range(120)]  # more than any bound
    JobRecord.objects.bulk_create(
        JobRecord(
            job_id=f"junk-{i}",
            name="tests.jobs.add",
            args=[],
            kwargs={},
            enqueue_time=now - dt.timedelta(seconds=i),
            queue_name=name,
            alias="default",
            status="complete",
            success=True,
            start_time=now,
            finish_time=now,
        )
        for i, name in enumerate(junk)
    )
    aliases = {
        **settings.ARQ_QUEUES,
        "default": {**settings.ARQ_QUEUES["default"], "WORKER": {"QUEUE_NAME": "zz-worker-queue"}},
    }
    with override_settings(ARQ_QUEUES=aliases):
        response = viewer_client.get(DASHBOARD)
    assert response.status_code == 200
    shown = [(s.alias, s.queue_name) for s in response.context["queues"]]
    configured = {
        ("default", settings.TEST_QUEUE),
        ("default", "zz-worker-queue"),
        ("mock", settings.TEST_QUEUE),
    }
    assert configured <= set(shown)
    assert ("default", queue_name) in shown
    assert stats_for(response, "default", queue_name).queued == 0
    assert len(shown) == len(configured) + QUEUES_DISCOVERED  # the busiest, the rest of junk cut off
    assert sum(name in junk for _, name in shown) == QUEUES_DISCOVERED - 1
