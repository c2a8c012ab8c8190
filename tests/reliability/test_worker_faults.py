"""Workers stopped under load: SIGTERM (arq cancels and re-queues running jobs) and SIGKILL (arq
runs the job again once its in-progress key expires). Nothing is lost; a job runs twice only if a
fault interrupted it. One job killed mid-run: tests/worker/test_worker.py::test_killed_worker_job_runs_again;
one job and SIGTERM: ::test_sigterm_stops_cleanly_and_requeues."""

from __future__ import annotations

import io
import re
import signal

import pytest
import redis
from django.core.management import call_command

from django_arq import JobSpec, get_queue
from django_arq.models import JobRecord
from tests.helpers import wait_for
from tests.reliability.conftest import FaultWorkers, runs

pytestmark = pytest.mark.django_db(transaction=True)

SLOW = "tests.reliability.jobs.slow_count"


def enqueue(queue_name: str, count: int, seconds: float) -> list[str]:
    specs = [JobSpec(SLOW, (seconds,), queue_name=queue_name) for _ in range(count)]
    return [m.id for m in get_queue().enqueue_many_sync(specs)]


def all_complete(ids: list[str]) -> bool:
    return JobRecord.objects.filter(job_id__in=ids, status="complete").count() == len(ids)


def test_sigterm_requeues_running_jobs_and_a_new_worker_runs_each_once(
    fault_workers: FaultWorkers, queue_name: str, server_client: redis.Redis
) -> None:
    worker = fault_workers.start("--max-jobs", "4")
    ids = enqueue(queue_name, 10, 3.0)
    wait_for(lambda: JobRecord.objects.filter(job_id__in=ids, status="in_progress").count() == 4, timeout=15)
    running = set(
        JobRecord.objects.filter(job_id__in=ids, status="in_progress").values_list("job_id", flat=True)
    )
    assert worker.stop(signal.SIGTERM, timeout=15) == 0, worker.output()
    assert runs(server_client) == {}  # none of the bodies got to its end
    assert server_client.zcard(queue_name) == 10  # all back in (or still in) the queue
    assert not server_client.keys("arq:in-progress:*")

    fault_workers.start()
    wait_for(lambda: all_complete(ids), timeout=30, interval=0.2)
    assert runs(server_client) == dict.fromkeys(ids, 1)
    records = {r.job_id: r for r in JobRecord.objects.filter(job_id__in=ids)}
    assert {r.success for r in records.values()} == {True}
    assert {i for i, r in records.items() if r.job_try == 2} == running  # the interrupted ones: a 2nd try
    assert {r.job_try for i, r in records.items() if i not in running} == {1}


def in_flight(output: str) -> set[str]:
    """Ids of the jobs a worker's log shows started and not yet finished."""
    started = set(re.findall(r"→ (\w+):", output))
    return started - set(re.findall(r"[\u2190\u00d7] (\w+):", output))


def first_tries(output: str) -> set[str]:
    """Ids of the jobs a worker's log shows it started on their first try (arq notes later tries)."""
    return {
        m.group(1)
        for line in output.splitlines()
        if " try=" not in line and (m := re.search(r"→ (\w+):", line))
    }


@pytest.mark.slow
def test_sigkill_under_load_loses_nothing(
    fault_workers: FaultWorkers, queue_name: str, server_client: redis.Redis
) -> None:
    """Two workers; one is killed with jobs running. Those run again after arq's in-progress
    timeout (JOB_TIMEOUT + 10 s) and count a second try; every other job runs exactly once."""
    victim = fault_workers.start("--job-timeout", "2", "--max-jobs", "5")
    survivor = fault_workers.start("--job-timeout", "2", "--max-jobs", "5")
    ids = enqueue(queue_name, 60, 1.0)
    wait_for(lambda: len(runs(server_client)) >= 10 and len(in_flight(victim.output())) >= 3, timeout=30)
    victim.kill()
    running = {key.decode().rsplit(":", 1)[1] for key in server_client.keys("arq:in-progress:*")}
    logged = in_flight(victim.output())
    assert logged <= running
    wait_for(
        lambda: set(runs(server_client)) == set(ids) and not server_client.zcard(queue_name)
        and not server_client.keys("arq:in-progress:*"),
        timeout=60, interval=0.25,
    )  # fmt: skip
    # the killed worker's last record updates died with it (results of jobs it finished are in
    # Redis): arq_reconcile brings those records up to date
    call_command("arq_reconcile", "--alias", "default", stdout=io.StringIO())
    assert all_complete(ids)

    records = {r.job_id: r for r in JobRecord.objects.filter(job_id__in=ids)}
    assert len(records) == 60 and {r.success for r in records.values()} == {True}
    # The victim's jobs: running at the kill and not the survivor's (its first tries). The victim's
    # log can miss a job it had just taken, so it gives only a lower bound.
    killed = running - first_tries(survivor.output())
    assert logged <= killed
    # Counted at the end of the body: once each, but for a killed job whose body had just ended
    # when the kill came, before its result was written (arq runs a job at least once): twice.
    counts = runs(server_client)
    assert set(counts) == set(ids)
    assert {i for i, n in counts.items() if n != 1} <= killed and set(counts.values()) <= {1, 2}
    assert {i for i, r in records.items() if r.job_try > 1} == killed
    assert {records[i].result for i in killed} == {2}  # slow_count returns its job_try
