"""Progress reports from jobs run by ``manage.py arq_worker``: Redis and the JobRecord follow them."""

from __future__ import annotations

import pytest
import redis

from django_arq import JobStatus, get_queue
from django_arq.audit.writer import flush_records
from django_arq.models import JobRecord
from django_arq.queues.progress import progress_key, progress_to_json
from django_arq.queues.serializers import SerializedError
from tests.helpers import wait_for
from tests.worker.conftest import WorkerRunner

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("job", ["tests.worker.jobs.stepwise", "tests.worker.jobs.sync_stepwise"])
def test_the_record_and_the_metadata_see_the_progress_move(
    workers: WorkerRunner, redis_client: redis.Redis, job: str
) -> None:
    workers.start()
    queue, q = get_queue(), workers.queue_name
    meta = queue.enqueue_sync(job, 3, _queue_name=q)
    flush_records()
    go = f"django-arq-tests:go:{meta.id}"
    try:
        for step in (1, 2, 3):

            def seen(step: int = step) -> bool:
                found = queue.get_job_metadata_sync(meta.id, q).progress
                record = JobRecord.objects.get(job_id=meta.id).progress
                return found is not None and found.done == step and (record or {}).get("done") == step

            wait_for(seen, timeout=20)
            running = queue.get_job_metadata_sync(meta.id, q)
            assert running.status is JobStatus.in_progress
            assert running.progress is not None
            assert (running.progress.total, running.progress.message) == (3, f"step {step}")
            assert running.progress.fraction == pytest.approx(step / 3)
            record = JobRecord.objects.get(job_id=meta.id)
            assert record.status == "in_progress"
            assert record.progress == progress_to_json(running.progress)
            redis_client.set(go, step)

        wait_for(lambda: JobRecord.objects.get(job_id=meta.id).status == "complete", timeout=20)
        result = queue.get_job_result_sync(meta.id, q)
        assert (result.success, result.result) == (True, 3)
        assert result.progress is not None and (result.progress.done, result.progress.fraction) == (3, 1.0)
        assert JobRecord.objects.get(job_id=meta.id).progress == progress_to_json(result.progress)
        # the report lives as long as the result (KEEP_RESULT, an hour), no longer
        report_ttl = redis_client.pttl(progress_key(meta.id))
        result_ttl = redis_client.pttl(f"arq:result:{meta.id}")
        assert 0 < report_ttl <= 3_600_000 and 0 < result_ttl <= 3_600_000
        assert abs(report_ttl - result_ttl) < 5_000
    finally:
        redis_client.delete(go, progress_key(meta.id))


@pytest.mark.parametrize(
    "job", ["tests.worker.jobs.report_after_return", "tests.worker.jobs.sync_report_after_return"]
)
def test_a_report_made_after_its_job_ended_is_ignored(
    workers: WorkerRunner, redis_client: redis.Redis, job: str
) -> None:
    """The job returns, leaving a task (or thread) that reports once more: the job's last report,
    its lifetime (its result's) and its record stay as the job ended."""
    workers.start()
    queue, q = get_queue(), workers.queue_name
    meta = queue.enqueue_sync(job, _queue_name=q)
    flush_records()
    go, reported_late = f"django-arq-tests:go:{meta.id}", f"django-arq-tests:reported-late:{meta.id}"
    try:
        wait_for(lambda: JobRecord.objects.get(job_id=meta.id).status == "complete", timeout=30)
        final = redis_client.get(progress_key(meta.id))
        assert final is not None and b'"after the job"' not in final

        redis_client.set(go, 1)
        wait_for(lambda: redis_client.exists(reported_late), timeout=30)
        # a later job's record is written after anything the late report would have mirrored
        later = queue.enqueue_sync("tests.jobs.add", 1, 2, _queue_name=q)
        flush_records()
        wait_for(lambda: JobRecord.objects.get(job_id=later.id).status == "complete", timeout=30)

        assert redis_client.get(progress_key(meta.id)) == final
        report_ttl = redis_client.pttl(progress_key(meta.id))
        result_ttl = redis_client.pttl(f"arq:result:{meta.id}")
        assert 0 < report_ttl <= 3_600_000 and abs(report_ttl - result_ttl) < 5_000  # the result's
        result = queue.get_job_result_sync(meta.id, q)
        assert result.progress is not None and (result.progress.done, result.progress.message) == (
            1,
            "in the job",
        )
        assert JobRecord.objects.get(job_id=meta.id).progress == progress_to_json(result.progress)
    finally:
        redis_client.delete(go, reported_late, progress_key(meta.id))


def test_hostile_reports_fail_their_job_or_are_made_storable_and_the_worker_runs_on(
    workers: WorkerRunner, redis_client: redis.Redis
) -> None:
    queue, q = get_queue(), workers.queue_name
    nan = queue.enqueue_sync("tests.worker.jobs.say", "x", float("nan"), _queue_name=q)
    wrong = queue.enqueue_sync("tests.worker.jobs.say", b"bytes", _queue_name=q)
    odd = queue.enqueue_sync("tests.worker.jobs.say", "nul\x00 lone\udcff " + "long" * 100, _queue_name=q)
    after = queue.enqueue_sync("tests.jobs.add", 1, 2, _queue_name=q)
    try:
        workers.burst()
        flush_records()
        failed = queue.get_job_result_sync(nan.id, q)
        assert failed.success is False and isinstance(failed.result, ValueError)
        assert "progress done must be a finite number >= 0, not nan" in str(failed.result)
        refused = queue.get_job_result_sync(wrong.id, q)
        assert refused.success is False and isinstance(refused.result, TypeError)
        assert (failed.progress, refused.progress) == (None, None)
        stored = queue.get_job_result_sync(odd.id, q)
        assert stored.success is True and stored.progress is not None
        message = stored.progress.message
        assert message is not None and message.startswith("nul\ufffd lone\ufffd long") and len(message) == 200
        assert JobRecord.objects.get(job_id=odd.id).progress == progress_to_json(stored.progress)
        assert queue.get_job_result_sync(after.id, q).result == 3
    finally:
        redis_client.delete(*(progress_key(m.id) for m in (nan, wrong, odd, after)))


def test_a_job_exiting_amid_its_reports_keeps_its_last_report_and_the_worker_runs_on(
    workers: WorkerRunner, redis_client: redis.Redis
) -> None:
    queue, q = get_queue(), workers.queue_name
    exiting = queue.enqueue_sync("tests.worker.jobs.sync_report_then_exit", 5000, _queue_name=q)
    interrupted = queue.enqueue_sync("tests.worker.jobs.async_report_then_interrupt", 5000, _queue_name=q)
    after = queue.enqueue_sync("tests.jobs.add", 1, 2, _queue_name=q)
    try:
        workers.burst()
        flush_records()
        for meta, kind in ((exiting, "builtins.SystemExit"), (interrupted, "builtins.KeyboardInterrupt")):
            result = queue.get_job_result_sync(meta.id, q)
            assert result.success is False and isinstance(result.result, SerializedError), result.result
            assert result.result.type_name == kind
            assert result.progress is not None and (result.progress.done, result.progress.total) == (
                5000,
                5000,
            )
            assert JobRecord.objects.get(job_id=meta.id).progress == progress_to_json(result.progress)
        assert queue.get_job_result_sync(after.id, q).result == 3
    finally:
        redis_client.delete(*(progress_key(m.id) for m in (exiting, interrupted, after)))
