"""An idle worker costs less than arq's polling, and still starts every job in time.

The cost is counted as commands on a private redis-server (those inside scripts included), so that
no other process's commands are counted; the bounds only grow with a loaded machine's delays.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import redis

from django_arq import get_queue
from django_arq.queues.heartbeats import LIVE_PREFIX
from django_arq.queues.idle import IDLE_POLLS
from tests.helpers import Process, redis_server, wait_for
from tests.worker.conftest import WorkerRunner

pytestmark = pytest.mark.django_db(transaction=True)


def calls(client: redis.Redis) -> dict[str, int]:
    stats = client.info("commandstats")
    return {name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in stats.items()}


def test_an_idle_worker_sends_fewer_commands_than_arqs_polling(workers: WorkerRunner) -> None:
    """At arq's default poll delay (0.5 s) a plain arq worker reads its queue twice a second; an
    idle django-arq worker reads it once every ``IDLE_POLLS`` poll delays and beats every 5 s."""
    with redis_server() as server:
        client = redis.Redis.from_url(server.url)
        env = {**workers.env(), "DJANGO_ARQ_TEST_REDIS": server.url}
        process = Process(workers.args("--poll-delay", "0.5"), env=env)
        workers.processes.append(process)
        try:
            live = LIVE_PREFIX + workers.queue_name
            wait_for(lambda: client.zcard(live) == 1 or process.proc.poll() is not None, timeout=60)
            assert process.proc.poll() is None, process.output()
            before, start = calls(client), time.monotonic()
            # at least 10 s idle and two beats since (a beat every LOST_AFTER / 3 = 5 s)
            wait_for(
                lambda: (
                    time.monotonic() - start >= 10
                    and calls(client).get("evalsha", 0) - before.get("evalsha", 0) >= 2
                ),
                timeout=120,
                interval=0.5,
            )
            after, elapsed = calls(client), time.monotonic() - start
        finally:
            client.close()
    assert process.proc.poll() is None, process.output()
    sent = {c: n - before.get(c, 0) for c, n in after.items() if c != "info"}
    polls = sent.get("zrangebyscore", 0)
    # a poll every 2 s, and a read of the earliest deferred job at most after each poll
    assert polls <= 2 * (elapsed / (0.5 * IDLE_POLLS) + 2), sent
    assert sum(sent.values()) < 2 * elapsed, sent  # arq's polling alone: 2 commands a second


def test_a_deferred_job_starts_on_time_though_the_worker_idles_long(workers: WorkerRunner) -> None:
    """The worker polls every 60 s (and an idle one less often still): the job's wake-up makes it
    read when the deferred job is due, and it starts it then."""
    q = workers.queue_name
    workers.start("--poll-delay", "60")
    queue = get_queue()
    first = queue.enqueue_sync("tests.jobs.add", 1, 2, _queue_name=q)  # the worker is up and idle
    wait_for(lambda: queue.get_job_metadata_sync(first.id, q).status.value == "complete", timeout=30)
    meta = queue.enqueue_sync("tests.jobs.add", 3, 4, _queue_name=q, _defer_by=timedelta(seconds=2))
    wait_for(lambda: queue.get_job_metadata_sync(meta.id, q).status.value == "complete", timeout=40)
    result = queue.get_job_result_sync(meta.id, q)
    assert result.result == 7
    assert result.start_time >= result.enqueue_time + timedelta(seconds=2)  # not before its time
