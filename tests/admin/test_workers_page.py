"""The workers page in a real Chromium: a live worker running a job (linked to its record) and a
worker SIGKILLed mid-job, shown lost once a live worker re-queued its job; the dashboard links there."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from django.contrib.auth.models import User

from django_arq import flush_records, get_queue
from django_arq.models import JobRecord
from tests.admin.test_browser import SCREENSHOTS, browser, log_in, page  # noqa: F401 - fixtures
from tests.helpers import ROOT, wait_for
from tests.worker.conftest import WorkerRunner

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def django_workers(queue_name: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[WorkerRunner]:
    monkeypatch.setenv("DJANGO_ARQ_TEST_LOST_AFTER", "5")
    runner = WorkerRunner(queue_name)
    yield runner
    for process in runner.processes:
        process.kill()


def worker_of(job_id: str) -> str:
    flush_records()
    return JobRecord.objects.get(job_id=job_id).worker_id


def test_workers_page_shows_live_and_lost_workers(
    page: Any,  # noqa: F811 - the fixture
    live_server: Any,
    django_workers: WorkerRunner,
    redis_client: redis.Redis,
    tmp_path: Path,
) -> None:
    User.objects.create_superuser("admin", password="correct horse")
    q = django_workers.queue_name
    first = django_workers.start()
    job = get_queue().enqueue_sync("tests.jobs.sleep_for", 120, _queue_name=q)
    wait_for(lambda: worker_of(job.id), timeout=20)
    lost_id = worker_of(job.id)
    second = django_workers.start()
    first.kill()
    wait_for(lambda: worker_of(job.id) not in ("", lost_id), timeout=30, interval=0.1)  # runs on the second
    live_id = worker_of(job.id)
    running = f"django-arq:worker:{live_id}"  # its next beat lists the job as running
    wait_for(lambda: job.id.encode() in (redis_client.hget(running, "running") or b""), timeout=10)
    record = JobRecord.objects.get(job_id=job.id)

    log_in(page, live_server)
    page.goto(f"{live_server.url}/admin/django_arq/jobrecord/dashboard/")
    section = page.locator(f"section[data-alias=default][data-queue='{q}']")
    link = section.locator(".arq-health a.arq-workers-link")
    assert link.inner_text() == "1 live worker, 1 lost"
    link.click()
    page.wait_for_url("**/jobrecord/workers/**")

    section = page.locator(f"section[data-queue='{q}']")
    live = section.locator(f"tr[data-worker='{live_id}']")
    lost = section.locator(f"tr[data-worker='{lost_id}']")
    assert live.is_visible() and lost.is_visible()
    cells = [c.strip() for c in live.locator("td").all_inner_texts()]
    assert cells[1] == "live" and cells[3] == str(second.proc.pid) and cells[4] == q
    assert cells[5] == job.id and cells[8].endswith("s ago")
    assert lost.locator("td").nth(1).inner_text() == "lost"
    assert lost.locator("td.arq-running").inner_text().split() == ["re-queued:", job.id]
    shots = ROOT / SCREENSHOTS if SCREENSHOTS else tmp_path
    page.screenshot(path=str(shots / "admin-workers.png"), full_page=True)

    live.locator(f"td.arq-running a:text('{job.id}')").click()
    page.wait_for_url(f"**/jobrecord/{record.pk}/change/")
    assert job.id in page.locator("#content").inner_text()
    record.refresh_from_db()
    assert [(e["try"], e["error"], e["lost"]) for e in record.try_errors] == [
        (1, f"worker {lost_id} lost", True)
    ]
    assert (shots / "admin-workers.png").stat().st_size > 10_000
