"""SERIALIZER "json" end to end with ``manage.py arq_worker --alias json``, a planted pickle payload
that nobody unpickles, and the W002 warning through ``manage.py check``."""

from __future__ import annotations

import io
import pickle
import time
from pathlib import Path
from typing import Any

import pytest
import redis
from django.core.management import call_command
from django.test import Client
from django.test.utils import override_settings

from django_arq import ArqJobError, get_queue
from django_arq.models import JobRecord
from django_arq.queues.serializers import SerializedError
from tests.helpers import wait_for
from tests.reliability.conftest import FaultWorkers

pytestmark = pytest.mark.django_db(transaction=True)


class Planted:
    """Unpickling this creates a file: the proof that a pickle payload was (wrongly) loaded."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (str(self.marker), "w"))


@pytest.fixture
def json_workers(queue_name: str, on_server: str) -> Any:
    runner = FaultWorkers(queue_name, on_server, alias="json")
    yield runner
    for process in runner.processes:
        process.kill()


def test_json_alias_end_to_end_on_the_worker_command(
    json_workers: FaultWorkers, queue_name: str, server_client: redis.Redis
) -> None:
    queue = get_queue("json")
    ok = queue.enqueue_sync("tests.jobs.echo", 1, "two", [3], key={"nested": True}, _queue_name=queue_name)
    bad = queue.enqueue_sync("tests.jobs.fail", "<b>boom</b>", _queue_name=queue_name)
    raw = server_client.get(f"arq:job:{ok.id}")
    assert raw is not None and raw.startswith(b"{")  # JSON on the wire, not a pickle
    assert b'"tests.jobs.echo"' in raw
    json_workers.burst()

    done = queue.get_job_result_sync(ok.id, queue_name)
    assert (done.success, done.result) == (
        True,
        {"args": [1, "two", [3]], "kwargs": {"key": {"nested": True}}, "job_try": 1},
    )
    failed = queue.get_job_result_sync(bad.id, queue_name)
    assert failed.success is False
    assert isinstance(failed.result, SerializedError)
    assert (failed.result.type_name, failed.result.message) == ("builtins.ValueError", "<b>boom</b>")
    assert server_client.get(f"arq:result:{bad.id}").startswith(b"{")  # type: ignore[union-attr]
    record = JobRecord.objects.get(job_id=bad.id)
    assert (record.alias, record.status, record.success) == ("json", "complete", False)
    assert record.result == {"exception": "builtins.ValueError", "message": "<b>boom</b>"}


def test_a_planted_pickle_is_never_unpickled(
    json_workers: FaultWorkers, queue_name: str, server_client: redis.Redis, tmp_path: Path, settings: Any
) -> None:
    settings.ARQ_API_TOKENS = ["t0ken"]
    marker = tmp_path / "unpickled"
    job_id = "planted-pickle"
    server_client.set(f"arq:job:{job_id}", pickle.dumps(Planted(marker)))
    server_client.zadd(queue_name, {job_id: int(time.time() * 1000)})
    queue = get_queue("json")
    with pytest.raises(ArqJobError, match="cannot be read with the 'json' serializer"):
        queue.get_job_metadata_sync(job_id, queue_name)  # the producer side refuses it, clearly
    response = Client().get(
        f"/arq/jobs/{job_id}/?alias=json&queue={queue_name}", headers={"Authorization": "Bearer t0ken"}
    )
    assert (response.status_code, response.json()["error"]) == (502, "queue_error")
    assert "cannot be read" in response.json()["detail"]
    assert not marker.exists()

    worker = json_workers.start()
    wait_for(lambda: server_client.zscore(queue_name, job_id) is None, timeout=15)
    wait_for(lambda: server_client.exists(f"arq:result:{job_id}"), timeout=10)
    assert not marker.exists()
    assert "deserializing job planted-pickle failed" in worker.output()
    assert worker.proc.poll() is None
    result = queue.get_job_result_sync(job_id, queue_name)
    assert result.success is False
    assert not marker.exists()
    ok = queue.enqueue_sync("tests.jobs.add", 2, 3, _queue_name=queue_name)  # the worker goes on
    wait_for(lambda: JobRecord.objects.filter(job_id=ok.id, status="complete").exists(), timeout=15)
    assert JobRecord.objects.get(job_id=ok.id).result == 5


def warnings_of(redis_url: str, options: dict[str, Any] | None = None) -> str:
    alias = {"BACKEND": "django_arq.RedisArqQueue", "REDIS_URL": redis_url, "OPTIONS": options or {}}
    out, err = io.StringIO(), io.StringIO()
    with override_settings(ARQ_QUEUES={"default": alias}):
        call_command("check", stdout=out, stderr=err)
    return out.getvalue() + err.getvalue()


def test_w002_through_manage_py_check() -> None:
    warned = warnings_of("redis://10.0.0.5:6379/0")
    assert "django_arq.W002" in warned
    assert "non-loopback Redis without TLS or a password" in warned
    assert "django_arq.W002" not in warnings_of("redis://127.0.0.1:6379/0")
    assert "django_arq.W002" not in warnings_of("rediss://10.0.0.5:6379/0")


def test_w002_not_raised_for_tls_set_in_options() -> None:
    assert "django_arq.W002" not in warnings_of("redis://10.0.0.5:6379/0", {"ssl": True})
