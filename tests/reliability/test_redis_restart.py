"""Redis restarted (no persistence) while producers and a worker run."""

from __future__ import annotations

import asyncio
import io
import signal
import threading
import time
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import connections

from django_arq import RedisUnavailable, get_queue
from django_arq.models import JobRecord
from tests.helpers import RedisServer, wait_for
from tests.reliability.conftest import FaultWorkers

pytestmark = pytest.mark.django_db(transaction=True)

GROUP = "tests.worker.jobs.create_group"


class Producer(threading.Thread):
    """Enqueues a job every 20 ms through one long-lived queue, sync or async (one event loop)."""

    def __init__(self, queue_name: str, mode: str) -> None:
        super().__init__(daemon=True)
        self.queue_name, self.mode = queue_name, mode
        self.ok: list[tuple[float, str]] = []
        self.errors: list[tuple[float, BaseException]] = []
        self.halt = threading.Event()

    def run(self) -> None:
        queue = get_queue()
        with asyncio.Runner() as runner:
            i = 0
            while not self.halt.is_set():
                name, i = f"{self.mode}-{i}", i + 1
                try:
                    if self.mode == "async":
                        meta = runner.run(queue.enqueue(GROUP, name, _queue_name=self.queue_name))
                    else:
                        meta = queue.enqueue_sync(GROUP, name, _queue_name=self.queue_name)
                    self.ok.append((time.monotonic(), meta.id))
                except BaseException as exc:
                    self.errors.append((time.monotonic(), exc))
                time.sleep(0.02)
        connections.close_all()

    def stop(self) -> None:
        self.halt.set()
        self.join(10)


def test_producers_and_worker_survive_a_redis_restart(
    server: RedisServer, fault_workers: FaultWorkers, on_failing_server: str, queue_name: str
) -> None:
    worker = fault_workers.start()
    queue = get_queue()
    producers = [Producer(queue_name, "sync"), Producer(queue_name, "async")]
    for producer in producers:
        producer.start()
    wait_for(lambda: all(len(p.ok) >= 10 for p in producers), timeout=20)
    slow = queue.enqueue_sync("tests.reliability.jobs.slow_group", "slow-1", 1.0, _queue_name=queue_name)
    wait_for(lambda: JobRecord.objects.filter(job_id=slow.id, status="in_progress").exists(), timeout=10)

    down_at = time.monotonic()
    server.stop()
    wait_for(lambda: all(len(p.errors) >= 5 for p in producers), timeout=20)
    time.sleep(1.5)  # the slow job's body ends during the outage
    server.start()  # same port, empty: jobs that were in Redis are gone
    up_at = time.monotonic()
    wait_for(lambda: all(sum(t > up_at for t, _ in p.ok) >= 10 for p in producers), timeout=20)
    for producer in producers:
        producer.stop()

    for producer in producers:  # a clear error during the outage, and only then
        assert producer.errors, producer.mode
        for at, exc in producer.errors:
            assert isinstance(exc, RedisUnavailable), repr(exc)
            assert f"127.0.0.1:{server.port}" in str(exc)
            assert down_at <= at <= up_at + 1
    after = [job_id for p in producers for t, job_id in p.ok if t > up_at]
    # the worker reconnected and runs the jobs enqueued after the restart
    wait_for(
        lambda: JobRecord.objects.filter(job_id__in=after, status="complete").count() == len(after),
        timeout=30, interval=0.2,
    )  # fmt: skip
    assert worker.proc.poll() is None, worker.output()
    assert set(JobRecord.objects.filter(job_id__in=after).values_list("success", flat=True)) == {True}

    # nothing is marked complete that did not complete: a successful record means the body's mark exists
    records: list[Any] = list(JobRecord.objects.filter(queue_name=queue_name))
    ok_ids = {job_id for p in producers for _, job_id in p.ok} | {slow.id}
    assert {r.job_id for r in records} == ok_ids  # failed enqueues left no record
    marks = set(Group.objects.values_list("name", flat=True))
    for rec in records:
        if rec.status == "complete" and rec.success:
            assert rec.args[0] in marks, rec
        assert rec.status in {"complete", "queued", "in_progress"}
    assert "Redis is unreachable" in worker.output()
    assert "Redis is reachable again" in worker.output()
    # the slow job ran (its mark exists) but Redis lost it before its result was stored: the record
    # stays in progress until arq_reconcile compares it with Redis and marks it not found
    assert "slow-1" in marks
    assert JobRecord.objects.get(job_id=slow.id).status == "in_progress"
    call_command("arq_reconcile", "--alias", "default", stdout=io.StringIO())
    assert JobRecord.objects.get(job_id=slow.id).status == "not_found"
    unfinished = JobRecord.objects.filter(queue_name=queue_name, status__in=["queued", "in_progress"])
    assert not unfinished.exists()


def test_worker_stopped_while_redis_is_down_still_writes_its_records(
    server: RedisServer, fault_workers: FaultWorkers, on_failing_server: str, queue_name: str
) -> None:
    """arq's close() fails at its first Redis call; the last JobRecord flush must still run."""
    worker = fault_workers.start()
    meta = get_queue().enqueue_sync(
        "tests.reliability.jobs.slow_group", "slow-2", 0.5, _queue_name=queue_name
    )
    wait_for(lambda: JobRecord.objects.filter(job_id=meta.id, status="in_progress").exists(), timeout=10)
    server.stop()
    wait_for(lambda: "Redis is unreachable" in worker.output(), timeout=10)
    time.sleep(1)  # the job's body ends: its mark is written, its result cannot be
    assert worker.stop(signal.SIGTERM, timeout=15) == 0, worker.output()
    assert "Task was destroyed but it is pending" not in worker.output()
    assert "Redis is unreachable at shutdown" in worker.output()
    assert Group.objects.filter(name="slow-2").exists()
    rec = JobRecord.objects.get(job_id=meta.id)
    assert rec.status == "in_progress"  # never 'complete': arq could not store the result
