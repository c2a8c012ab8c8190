"""``arq_enqueue --wait --json`` on a job that finishes, and ``--job-id`` checked by argparse."""

from __future__ import annotations

import io
import json
import threading
from typing import Any

import pytest
from arq.jobs import serialize_result
from arq.utils import timestamp_ms
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.helpers import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def finish_the_job(redis_client: Any, queue_name: str) -> str:
    """Play a worker: once the queue holds a job, store its result (``3``) and take it off the queue."""
    (raw,) = wait_for(lambda: redis_client.zrange(queue_name, 0, -1), timeout=60)
    job_id = raw.decode()
    now = timestamp_ms()
    result = serialize_result("tests.jobs.add", (1, 2), {}, 1, now, True, 3, now, now, "", queue_name, job_id)
    redis_client.psetex(f"arq:result:{job_id}", 60_000, result)
    redis_client.zrem(queue_name, job_id)
    redis_client.delete(f"arq:job:{job_id}")
    return job_id


def test_wait_json_prints_the_finished_job_with_its_alias(redis_client: Any, lonely_queue: str) -> None:
    finished: list[str] = []
    worker = threading.Thread(target=lambda: finished.append(finish_the_job(redis_client, lonely_queue)))
    worker.start()
    out = io.StringIO()
    try:
        call_command(
            "arq_enqueue", "tests.jobs.add", "1", "2", "--queue", lonely_queue, "--wait", "--timeout", "60",
            "--json", stdout=out, stderr=io.StringIO(),
        )  # fmt: skip
    finally:
        worker.join()
        redis_client.delete(*[f"arq:result:{i}" for i in finished] or ["-"])
    (line,) = out.getvalue().splitlines()
    data = json.loads(line)
    assert (data["id"], data["alias"]) == (finished[0], "default")
    assert (data["status"], data["result"]) == ("complete", 3)


@pytest.mark.parametrize("bad", ["..", "a b", "x" * 201])
def test_a_bad_job_id_is_refused_by_argparse_in_its_words(bad: str, lonely_queue: str) -> None:
    with pytest.raises(CommandError) as info:
        call_command("arq_enqueue", "tests.jobs.add", "--queue", lonely_queue, "--job-id", bad)
    assert info.value.returncode == 2
    assert str(info.value) == (
        f"Error: argument --job-id: {bad!r} is not a valid job id (1-200 letters, digits or . _ : @ + -)"
    )
