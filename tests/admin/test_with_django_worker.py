"""The admin with ``manage.py arq_worker`` keeping the records current: abort, retry, dashboard health."""

from __future__ import annotations

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import User
from django.contrib.messages import get_messages
from django.test import Client

from django_arq import get_queue
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
