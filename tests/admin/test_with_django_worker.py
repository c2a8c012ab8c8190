"""The admin with ``manage.py arq_worker`` keeping the records current: abort, retry, dashboard health,
``arq_worker --check`` of a worker that is then killed, and a real traceback on a job's page."""

from __future__ import annotations

import re
from io import StringIO

import pytest
import redis
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import User
from django.contrib.messages import get_messages
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from django_arq import get_queue
from django_arq.conf import HEALTH_CHECK_INTERVAL
from django_arq.models import JobRecord
from tests.helpers import wait_for
from tests.worker.conftest import WorkerRunner

pytestmark = pytest.mark.django_db(transaction=True)

CHANGELIST = "/admin/django_arq/jobrecord/"


@pytest.fixture
def admin_client_tx() -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("boss", password="pw"))
    return client


@pytest.fixture
def django_worker(queue_name: str) -> WorkerRunner:
    runner = WorkerRunner(queue_name)
    yield runner
    for process in runner.processes:
        process.kill()


def status(job_id: str) -> tuple[str, bool | None, str]:
    r = JobRecord.objects.get(job_id=job_id)
    return r.status, r.success, r.error


def test_abort_and_retry_with_the_django_worker(admin_client_tx: Client, django_worker: WorkerRunner) -> None:
    queue, q = get_queue(), django_worker.queue_name
    slow = queue.enqueue_sync("tests.jobs.sleep_for", 30, _queue_name=q)
    bad = queue.enqueue_sync("tests.jobs.fail", "first try", _queue_name=q)
    django_worker.start()
    wait_for(lambda: status(slow.id)[0] == "in_progress" and status(bad.id)[0] == "complete", timeout=20)
    assert "ValueError: first try" in status(bad.id)[2]  # the worker's traceback

    response = admin_client_tx.post(
        CHANGELIST,
        {
            "action": "abort_jobs",
            "index": 0,
            ACTION_CHECKBOX_NAME: [JobRecord.objects.get(job_id=slow.id).pk],
        },
    )
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        f"Aborted: tests.jobs.sleep_for [{slow.id}]"
    ]
    wait_for(lambda: status(slow.id) == ("complete", False, "aborted"), timeout=10)

    old = JobRecord.objects.get(job_id=bad.id)
    admin_client_tx.post(f"{CHANGELIST}{old.pk}/retry/")
    retry = JobRecord.objects.get(retry_of=old)
    wait_for(lambda: status(retry.job_id)[0] == "complete", timeout=20)  # the worker ran the copy
    assert status(retry.job_id)[1] is False and "ValueError: first try" in status(retry.job_id)[2]
    assert JobRecord.objects.filter(job_id=retry.job_id).count() == 1  # audit layer and worker: one record

    html = admin_client_tx.get(CHANGELIST).content.decode()
    assert (
        html.count('class="arq-badge arq-aborted"') == 1 and html.count('class="arq-badge arq-failed"') == 2
    )
    dashboard = admin_client_tx.get(f"{CHANGELIST}dashboard/")
    (stats,) = [s for s in dashboard.context["queues"] if s.queue_name == q]
    assert stats.health is not None and (stats.finished_last_hour, stats.failures_last_hour) == (3, 3)


def _check(queue_name: str) -> tuple[int, str]:
    """``manage.py arq_worker --check``: its exit status and what it printed."""
    out = StringIO()
    try:
        call_command("arq_worker", "--check", "--queue", queue_name, stdout=out)
    except CommandError as exc:
        return exc.returncode, str(exc)
    return 0, out.getvalue()


def test_worker_health_until_the_worker_is_killed(
    admin_client_tx: Client, django_worker: WorkerRunner, redis_client: redis.Redis
) -> None:
    """Dashboard and ``--check`` read the heartbeat (else the report, decoded); a killed worker shows
    once it missed its beats (LOST_AFTER) and its last report expired."""
    q = django_worker.queue_name
    get_queue().enqueue_sync("tests.jobs.add", 1, 2, _queue_name=q)
    worker = django_worker.start()
    wait_for(lambda: JobRecord.objects.filter(queue_name=q, status="complete").exists(), timeout=20)

    status, output = _check(q)
    assert status == 0, output
    assert f"worker on queue '{q}' on redis://" in output and f"pid {worker.proc.pid} on " in output
    # decoded, in words: no bytes repr (the queue name is hex, so it may end in "b" before a quote)
    assert re.search(r"\bb'", output) is None and "j_complete" not in output
    (stats,) = [
        s for s in admin_client_tx.get(f"{CHANGELIST}dashboard/").context["queues"] if s.queue_name == q
    ]
    assert stats.worker_health is not None and not stats.worker_health.stale
    assert stats.worker_health.age is not None and stats.worker_health.age <= HEALTH_CHECK_INTERVAL + 1
    assert (stats.live_workers, stats.lost_workers) == (1, 0)  # the heartbeat is read first

    worker.kill()
    key = f"{q}:health-check"
    # The last report expires one interval (plus a second) after it was written, whatever happens next.
    assert 0 < redis_client.pttl(key) <= (HEALTH_CHECK_INTERVAL + 1) * 1000
    wait_for(lambda: _check(q)[0] != 0, timeout=HEALTH_CHECK_INTERVAL + 30, interval=0.5)
    status, output = _check(q)
    assert status == 1 and output.startswith(f"no recent health check for queue '{q}'"), output
    html = admin_client_tx.get(f"{CHANGELIST}dashboard/").content.decode()
    section = html.split(f'data-queue="{q}"')[1].split("</section>")[0]
    assert '<span class="arq-down">0 live workers</span>, <span class="arq-down">1 lost</span>' in section
    assert "lost: " in output  # --check names the worker that stopped beating


def test_a_failed_job_page_shows_the_projects_frames_first(
    admin_client_tx: Client, django_worker: WorkerRunner
) -> None:
    q = django_worker.queue_name
    job = get_queue().enqueue_sync("tests.jobs.fail", "bad input", _queue_name=q)
    django_worker.start()
    wait_for(lambda: status(job.id)[0] == "complete", timeout=20)
    record = JobRecord.objects.get(job_id=job.id)
    assert record.error.count('  File "') > 1  # the worker's frames, then the job's
    html = admin_client_tx.get(f"{CHANGELIST}{record.pk}/change/").content.decode()
    field = html.split('class="form-row field-error_pretty"')[1]
    error, own, full = field.split('<pre class="arq-payload')[1:4]
    assert "ValueError: bad input" in error
    assert "tests/jobs.py&quot;" in own and "raise ValueError(message)" in own
    assert "site-packages" not in own and "django_arq/" not in own
    assert "<details><summary>Full traceback</summary>" in field
    assert full.count("File &quot;") == record.error.count('  File "')  # all of it, escaped
