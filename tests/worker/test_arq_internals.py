"""arq's private parts that django-arq relies on (``django_arq.queues.arq_internals``), pinned.

An arq release that renames, moves or reshapes one of them fails here, in one place, with the part
named; the module's docstring says what each part is used for.
"""

from __future__ import annotations

import ast
import asyncio
import dataclasses
import inspect
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path

import arq
import pytest
from arq import Worker, create_pool, cron, func
from arq import jobs as arq_jobs
from arq.connections import RedisSettings

from django_arq.queues import arq_internals as internals
from django_arq.queues.health import read_health
from django_arq.worker import DjangoWorker

PACKAGE = Path(internals.__file__).resolve().parent.parent

#: arq's documented API: what any module of django_arq may import from arq directly.
PUBLIC = {
    "arq": set(arq.__all__),
    "arq.connections": {"ArqRedis", "RedisSettings", "create_pool"},
    "arq.cron": {"cron"},
    "arq.jobs": {"Job", "JobStatus"},
    "arq.worker": {"Retry", "Worker", "func", "check_health", "run_worker"},
}
#: Modules allowed to import private arq names directly instead of from ``arq_internals``: none.
PENDING: set[str] = set()


async def noop(ctx: dict[str, object]) -> None:
    """A job function for the workers built here."""


def params(method: object) -> list[str]:
    return list(inspect.signature(method).parameters)[1:]  # type: ignore[arg-type]


def test_function_is_a_dataclass_with_these_fields() -> None:
    assert dataclasses.is_dataclass(internals.Function)
    fields = tuple(f.name for f in dataclasses.fields(internals.Function))
    assert fields == internals.FUNCTION_FIELDS
    made = internals.make_function("pkg.job", len)  # a sync callable: func() would refuse it
    assert (made.name, made.coroutine, made.timeout_s, made.max_tries) == ("pkg.job", len, None, None)
    with pytest.raises(RuntimeError, match="is not a coroutine function"):
        func(len, name="pkg.job")  # why make_function exists


def test_cron_job_is_a_dataclass_whose_coroutine_can_be_swapped() -> None:
    job = cron(noop, name="cron:x", minute=5)
    assert isinstance(job, internals.CronJob) and dataclasses.is_dataclass(job)
    swapped = internals.with_coroutine(job, len)
    assert (swapped.coroutine, swapped.name, swapped.minute) == (len, "cron:x", 5)
    assert job.next_run is None  # planned by the worker's first poll
    assert internals.with_coroutine(func(noop, name="f"), len).coroutine is len


async def test_cron_runs_are_read_once_planned() -> None:
    job = cron(noop, name="cron:x", second=30)
    worker = Worker([], cron_jobs=[job], redis_settings=RedisSettings(), handle_signals=False)
    now = datetime.now(UTC)
    await worker.run_cron(now, 0.5)  # plans the first run, enqueues nothing
    assert job.next_run is not None and job.next_run > now
    assert internals.cron_runs_ms(worker) == [internals.to_unix_ms(job.next_run)]


@pytest.mark.parametrize("name", sorted(internals.OVERRIDDEN))
def test_overridden_worker_methods_keep_their_parameters(name: str) -> None:
    ours, arqs = getattr(DjangoWorker, name), getattr(Worker, name)
    assert ours is not arqs, f"DjangoWorker no longer overrides {name}: update OVERRIDDEN"
    assert params(arqs) == list(internals.OVERRIDDEN[name]), f"arq's Worker.{name} changed"
    assert params(ours) == params(arqs)
    assert inspect.iscoroutinefunction(ours) == inspect.iscoroutinefunction(arqs)


async def test_worker_attributes_and_helpers() -> None:
    worker = Worker([func(noop, name="noop")], redis_settings=RedisSettings(), handle_signals=False)
    missing = [a for a in internals.ATTRIBUTES if not hasattr(worker, a)]
    assert not missing, f"arq's Worker no longer sets {missing}"
    assert isinstance(worker.tasks, dict) and isinstance(worker.aborting_tasks, set)
    assert isinstance(worker.sem, asyncio.Semaphore) and worker.job_counter == 0
    assert internals.health_check_due_ms(worker) == worker.health_check_interval * 1000  # none yet
    assert internals.cron_runs_ms(worker) == []
    assert internals.run_timeout(worker, worker.functions["noop"]) == worker.job_timeout_s == 300
    assert internals.run_timeout(worker, func(noop, timeout=2)) == 2

    task = asyncio.get_running_loop().create_future()
    worker.tasks["a"] = task  # type: ignore[assignment]
    worker.aborting_tasks.add("a")
    assert internals.running_job(worker, "a") is task and internals.running_job(worker, "b") is None
    assert internals.running_jobs(worker) == 1
    assert internals.is_aborting(worker, "a") and not internals.is_aborting(worker, "b")

    await worker.sem.acquire()  # what start_jobs does before it starts a job
    worker.job_counter += 1
    internals.give_back_job_slot(worker)
    assert worker.job_counter == 0 and not worker.sem.locked()

    worker.jobs_complete, worker.jobs_failed = 3, 1
    internals.end_burst(worker)
    assert worker.max_burst_jobs == 5  # 3 + 1 finished, 1 running: main() returns at its next check
    task.cancel()


def test_redis_layout_and_payload_helpers() -> None:
    """The key names are arq's wire format: a plain arq worker and client read the same keys."""
    assert (internals.job_key_prefix, internals.in_progress_key_prefix) == ("arq:job:", "arq:in-progress:")
    assert (internals.result_key_prefix, internals.retry_key_prefix) == ("arq:result:", "arq:retry:")
    assert (internals.abort_jobs_ss, internals.default_queue_name) == ("arq:abort", "arq:queue")
    assert internals.health_check_key_suffix == ":health-check"
    assert isinstance(internals.expires_extra_ms, int)
    for read in (internals.deserialize_job, internals.deserialize_result):
        assert list(inspect.signature(read).parameters) == ["r", "deserializer"]
    assert list(inspect.signature(internals.serialize_job).parameters) == [
        "function_name", "args", "kwargs", "job_try", "enqueue_time_ms", "serializer",
    ]  # fmt: skip
    payload = internals.serialize_job("pkg.job", (1,), {"a": 2}, 1, 0)
    job = internals.deserialize_job(payload)
    assert (job.function, job.args, job.kwargs, job.job_try) == ("pkg.job", (1,), {"a": 2}, 1)
    assert issubclass(internals.DeserializationError, Exception)
    assert issubclass(internals.JobExecutionFailed, Exception)
    assert internals.to_ms(1.5) == 1500 and internals.ms_to_datetime(0).year == 1970
    assert internals.timestamp_ms() > 0 and internals.to_unix_ms is not None
    assert "loggers" in internals.default_log_config(verbose=False)


async def test_health_report_reads_as_queues_health_expects(redis_url: str) -> None:
    """The report text is arq's own format, parsed by django_arq.queues.health."""
    queue = f"django-arq-tests:internals:{uuid.uuid4().hex[:8]}"
    worker = Worker(
        [func(noop, name="noop")], redis_settings=RedisSettings.from_dsn(redis_url),
        queue_name=queue, handle_signals=False, health_check_interval=30,
    )  # fmt: skip
    worker._pool = pool = await create_pool(worker.redis_settings)
    try:
        worker.jobs_complete, worker.jobs_failed, worker.jobs_retried = 7, 2, 1
        await worker.record_health()
        text, ttl = (
            await pool.get(queue + internals.health_check_key_suffix),
            await pool.pttl(queue + ":health-check"),
        )
    finally:
        await pool.delete(queue + internals.health_check_key_suffix)
        await pool.aclose()
    health = read_health(text.decode(), ttl / 1000, 30)
    assert health.counts == {"j_complete": 7, "j_failed": 2, "j_retried": 1, "j_ongoing": 0, "queued": 0}
    assert health.age is not None and health.age < 60 and not health.stale


def arq_imports(path: Path) -> list[tuple[str, str]]:
    """(module, name) of every import from arq in a file; ``import arq.x`` gives (arq.x, "*")."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "arq":
            found += [(node.module, alias.name) for alias in node.names]
        elif isinstance(node, ast.Import):
            found += [(a.name, "*") for a in node.names if a.name.split(".")[0] == "arq"]
    return found


def test_private_arq_names_are_imported_from_arq_internals_only() -> None:
    private: dict[str, list[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        where = path.relative_to(PACKAGE).as_posix()
        names = [f"{m}.{n}" for m, n in arq_imports(path) if n not in PUBLIC.get(m, set())]
        if names and where != "queues/arq_internals.py":
            private[where] = names
    unexpected = {where: names for where, names in private.items() if where not in PENDING}
    assert not unexpected, f"import these from django_arq.queues.arq_internals instead: {unexpected}"


def test_arq_stores_its_stand_in_text_for_a_result_it_cannot_serialize() -> None:
    """The recorder recognises this text in a result to record the job as failed."""
    data = arq_jobs.serialize_result(
        "f", (), {}, 1, 0, True, threading.Lock(), 0, 0, "ref", "q", "id"
    )  # fmt: skip
    assert data is not None
    result = arq_jobs.deserialize_result(data)
    assert (result.success, result.result) == (False, internals.UNSERIALIZABLE_RESULT)
