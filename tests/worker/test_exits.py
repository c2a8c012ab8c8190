"""A job that calls ``sys.exit()`` or raises ``KeyboardInterrupt`` fails; the worker runs on."""

from __future__ import annotations

import pytest

from django_arq import get_queue
from django_arq.audit.writer import flush_records
from django_arq.models import JobRecord
from django_arq.queues.serializers import SerializedError
from tests.helpers import wait_for
from tests.worker.conftest import WorkerRunner

pytestmark = pytest.mark.django_db(transaction=True)

#: job name, arguments, the exception class path and message it fails with
EXITS = [
    ("tests.worker.jobs.sync_exit", (3,), "builtins.SystemExit", "3"),
    ("tests.worker.jobs.async_exit", (4,), "builtins.SystemExit", "4"),
    ("tests.worker.jobs.sync_interrupt", (), "builtins.KeyboardInterrupt", "stop"),
    ("tests.worker.jobs.async_interrupt", (), "builtins.KeyboardInterrupt", "stop"),
]


def finished(job_ids: list[str]) -> bool:
    flush_records()
    return JobRecord.objects.filter(job_id__in=job_ids, status="complete").count() == len(job_ids)


def test_exiting_jobs_fail_once_and_the_worker_runs_on(workers: WorkerRunner) -> None:
    process = workers.start()
    queue = get_queue()
    q = workers.queue_name
    exits = [queue.enqueue_sync(name, *args, _queue_name=q).id for name, args, _, _ in EXITS]
    normal = queue.enqueue_sync("tests.jobs.add", 1, 2, _queue_name=q).id
    wait_for(lambda: finished([*exits, normal]) or process.proc.poll() is not None, timeout=30)
    assert process.proc.poll() is None, process.output()

    for job_id, (name, _, path, message) in zip(exits, EXITS, strict=True):
        rec = JobRecord.objects.get(job_id=job_id)
        assert (rec.name, rec.success, rec.job_try) == (name, False, 1), rec.error
        assert rec.result == {"exception": path, "message": message}
        assert path.rpartition(".")[2] in rec.error  # the original traceback, chained
        stored = queue.get_job_result_sync(job_id, q)  # arq's own result says the same
        assert stored.success is False
        assert isinstance(stored.result, SerializedError)
        assert (stored.result.type_name, stored.result.message) == (path, message)
    assert JobRecord.objects.get(job_id=normal).result == 3

    later = queue.enqueue_sync("tests.jobs.add", 2, 3, _queue_name=q).id
    wait_for(lambda: finished([later]), timeout=30)
    assert JobRecord.objects.get(job_id=later).result == 5
    assert process.proc.poll() is None, process.output()


#: arq.Retry delays arq cannot keep: too large for a float (its log line raised and stopped the
#: worker), and past MAX_DELAY (the job parked until its payload expired, lost).
BAD_RETRIES = [(10**400, "more than 1e308 s"), (1e300, "1e+300 s")]


def test_a_retry_arq_cannot_defer_fails_the_job_once_and_the_worker_runs_on(workers: WorkerRunner) -> None:
    process = workers.start()
    queue = get_queue()
    q = workers.queue_name
    retries = [
        queue.enqueue_sync("tests.worker.jobs.retry_in", delay, _queue_name=q).id for delay, _ in BAD_RETRIES
    ]
    normal = queue.enqueue_sync("tests.jobs.add", 1, 2, _queue_name=q).id
    wait_for(lambda: finished([*retries, normal]) or process.proc.poll() is not None, timeout=30)
    assert process.proc.poll() is None, process.output()
    for job_id, (_, shown) in zip(retries, BAD_RETRIES, strict=True):
        rec = JobRecord.objects.get(job_id=job_id)
        assert (rec.success, rec.job_try) == (False, 1), rec.error
        assert rec.result == {
            "exception": "builtins.ValueError",
            "message": f"Retry(defer=...) asks for {shown}; a job can be deferred by at most 31622400000 s",
        }
        assert "Retry" in rec.error  # the job's own Retry, chained
    assert JobRecord.objects.get(job_id=normal).result == 3


def test_jobs_whose_exception_has_no_readable_text_end_recorded_and_the_worker_runs_on(
    workers: WorkerRunner,
) -> None:
    """Raised or returned, an exception whose ``__str__`` and ``__repr__`` raise once stopped the
    worker: its record described it with ``str()``."""
    process = workers.start()
    queue = get_queue()
    q = workers.queue_name
    raised = queue.enqueue_sync("tests.worker.jobs.raise_unprintable", _queue_name=q).id
    returned = queue.enqueue_sync("tests.worker.jobs.return_unprintable", _queue_name=q).id
    normal = queue.enqueue_sync("tests.jobs.add", 1, 2, _queue_name=q).id
    wait_for(lambda: finished([raised, returned, normal]) or process.proc.poll() is not None, timeout=30)
    assert process.proc.poll() is None, process.output()
    described = {
        "exception": "tests.worker.jobs.Unprintable",
        "message": "<Unprintable object; str() raised AttributeError>",
    }
    failed = JobRecord.objects.get(job_id=raised)
    assert (failed.success, failed.result) == (False, described)
    assert "Unprintable" in failed.error  # its traceback
    unshowable = JobRecord.objects.get(job_id=returned)  # arq's log line fails on its repr(): a failure
    assert (unshowable.success, unshowable.result) == (False, {
        "exception": "django_arq.queues.storable.UnserializableResult",
        "message": "the job's result, a tests.worker.jobs.Unprintable, cannot be shown (its repr() failed): "
        "builtins.AttributeError: no repr",
    })  # fmt: skip
    assert JobRecord.objects.get(job_id=normal).result == 3


#: jobs that would stop the worker or leave it deaf to SIGTERM, and the warning each leaves
MEDDLERS = [
    ("tests.worker.jobs.ignore_sigterm", "SIGTERM handler was replaced (by <Handlers.SIG_IGN: 1>)"),
    ("tests.worker.jobs.default_sigterm", "SIGTERM handler was replaced (by <Handlers.SIG_DFL: 0>)"),
    ("tests.worker.jobs.stop_loop", "the event loop was stopped (loop.stop())"),
]


def test_jobs_that_meddle_with_signals_or_the_loop_are_undone_and_the_worker_stops_on_sigterm(
    workers: WorkerRunner,
) -> None:
    """A job that ignored SIGTERM left the worker deaf to it, one that restored its default had
    SIGTERM kill the worker without a shutdown, and one that stopped the event loop stopped it."""
    process = workers.start()
    queue = get_queue()
    q = workers.queue_name
    for name, _ in MEDDLERS:  # one at a time: each warning names its job
        job_id = queue.enqueue_sync(name, _queue_name=q).id
        wait_for(lambda job_id=job_id: finished([job_id]) or process.proc.poll() is not None, timeout=30)
        assert process.proc.poll() is None, process.output()
    later = queue.enqueue_sync("tests.jobs.add", 2, 3, _queue_name=q).id  # started by a poll that restores
    wait_for(lambda: finished([later]) or process.proc.poll() is not None, timeout=30)
    assert JobRecord.objects.get(job_id=later).result == 5, process.output()

    assert process.stop(timeout=120) == 0, process.output()
    output = process.output()
    assert "worker stopped: 4 complete" in output
    for _, warning in MEDDLERS:
        assert warning in output
