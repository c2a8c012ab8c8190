"""enqueue_on_commit: jobs leave for Redis only when the surrounding transaction commits."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta

import pytest
import redis
from asgiref.sync import sync_to_async
from django.contrib.auth.models import Group
from django.db import transaction
from django.test.utils import override_settings

from django_arq import JobNotQueued, JobSpec
from django_arq.audit.on_commit import (
    aenqueue_on_commit,
    aflush_records,
    enqueue_many_on_commit,
    enqueue_on_commit,
)
from django_arq.audit.writer import flush_records
from django_arq.models import JobRecord
from django_arq.queues.jobs import score_not_before
from tests.audit.databases import another_database
from tests.helpers import free_port

pytestmark = pytest.mark.django_db(transaction=True)


def test_sent_after_commit(queue_name: str, redis_client: redis.Redis) -> None:
    with transaction.atomic():
        job_id = enqueue_on_commit("tests.jobs.add", 1, 2, _queue_name=queue_name)
        assert redis_client.zscore(queue_name, job_id) is None  # not yet
        assert not JobRecord.objects.filter(job_id=job_id).exists()
    assert redis_client.zscore(queue_name, job_id) is not None
    assert flush_records()  # sent after the commit, outside it: the background writer has the record
    assert JobRecord.objects.get(job_id=job_id).kwargs == {}


def test_rollback_sends_nothing(queue_name: str, redis_client: redis.Redis) -> None:
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        job_id = enqueue_on_commit("tests.jobs.add", 1, 2, _queue_name=queue_name, _job_id="rolled-back-1")
        ids = enqueue_many_on_commit([JobSpec("tests.jobs.add", (1, 1), queue_name=queue_name)] * 3)
        1 / 0  # noqa: B018
    assert job_id == "rolled-back-1" and len(set(ids)) == 3
    assert redis_client.zcard(queue_name) == 0
    assert redis_client.exists("arq:job:rolled-back-1", *(f"arq:job:{i}" for i in ids)) == 0
    assert not JobRecord.objects.filter(job_id__in=[job_id, *ids]).exists()


def test_outside_a_transaction_sends_at_once(queue_name: str, redis_client: redis.Redis) -> None:
    job_id = enqueue_on_commit("tests.jobs.add", 1, 2, _queue_name=queue_name)
    assert redis_client.zscore(queue_name, job_id) is not None


def test_bulk_on_commit_sends_one_batch(queue_name: str, redis_client: redis.Redis) -> None:
    with transaction.atomic():
        ids = enqueue_many_on_commit(
            [JobSpec("tests.jobs.add", (i, i), queue_name=queue_name) for i in range(20)]
        )
    assert redis_client.zcard(queue_name) == 20
    assert flush_records()
    assert JobRecord.objects.filter(job_id__in=ids).count() == 20


def test_redis_down_at_commit(queue_name: str, settings, caplog) -> None:  # type: ignore[no-untyped-def]
    """The data stays committed, the error is logged with the job id, no record; the caller goes on."""
    down = {**settings.ARQ_QUEUES["default"], "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}
    down["OPTIONS"] = {"conn_timeout": 0.2, "conn_retries": 0}
    with (
        override_settings(ARQ_QUEUES={**settings.ARQ_QUEUES, "down": down}),
        caplog.at_level(logging.ERROR),
        transaction.atomic(),
    ):
        Group.objects.create(name="committed-anyway")
        job_id = enqueue_on_commit("tests.jobs.add", 1, 2, _alias="down", _queue_name=queue_name)
    assert Group.objects.filter(name="committed-anyway").exists()
    assert job_id in caplog.text
    assert not JobRecord.objects.filter(job_id=job_id).exists()


def test_a_failed_send_loses_none_of_the_transactions_other_jobs(  # type: ignore[no-untyped-def]
    queue_name: str, redis_client: redis.Redis, settings, caplog
) -> None:
    """A send that fails at commit (a taken id, Redis down for one alias) is logged, and the jobs
    registered after it in the same transaction are sent all the same."""
    taken = enqueue_on_commit("tests.jobs.add", 0, 0, _queue_name=queue_name)  # no transaction: sent now
    down = {**settings.ARQ_QUEUES["default"], "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}
    down["OPTIONS"] = {"conn_timeout": 0.2, "conn_retries": 0}
    with (
        override_settings(ARQ_QUEUES={**settings.ARQ_QUEUES, "down": down}),
        caplog.at_level(logging.ERROR, logger="django_arq.records"),
        transaction.atomic(),
    ):
        enqueue_on_commit("tests.jobs.add", 1, 1, _queue_name=queue_name, _job_id=taken)
        lost = enqueue_on_commit("tests.jobs.add", 2, 2, _alias="down", _queue_name=queue_name)
        later = enqueue_many_on_commit([JobSpec("tests.jobs.add", (3, 3), queue_name=queue_name)])
    assert redis_client.zscore(queue_name, later[0]) is not None
    ours = [r.getMessage() for r in caplog.records if r.name == "django_arq.records"]
    assert [m.split(" after commit")[0] for m in ours] == [
        f"could not enqueue job(s) {taken}",
        f"could not enqueue job(s) {lost}",
    ]
    assert flush_records()
    assert JobRecord.objects.filter(job_id=later[0]).exists()


def test_outside_a_transaction_an_error_reaches_the_caller(queue_name: str) -> None:
    taken = enqueue_on_commit("tests.jobs.add", 0, 0, _queue_name=queue_name)
    with pytest.raises(JobNotQueued):
        enqueue_on_commit("tests.jobs.add", 1, 1, _queue_name=queue_name, _job_id=taken)


async def test_async_form_joins_the_transaction(queue_name: str, redis_client: redis.Redis) -> None:
    @sync_to_async
    def rolled_back() -> str:
        with transaction.atomic():
            job_id = enqueue_on_commit("tests.jobs.add", 1, 2, _queue_name=queue_name)
            transaction.set_rollback(True)
        return job_id

    dropped = await rolled_back()
    sent = await aenqueue_on_commit("tests.jobs.add", 3, 4, _queue_name=queue_name)
    assert redis_client.zscore(queue_name, dropped) is None
    assert redis_client.zscore(queue_name, sent) is not None
    assert await aflush_records()
    assert await JobRecord.objects.filter(job_id=sent).aexists()


def test_the_schedule_and_expiry_reach_the_queue(queue_name: str, redis_client: redis.Redis) -> None:
    before_ms = time.time() * 1000 - 1  # arq rounds its clock to the millisecond
    with transaction.atomic():
        later = enqueue_on_commit("tests.jobs.add", 1, 2, _queue_name=queue_name, _defer_by=60, _expires=600)
        at = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=3)
        fixed = enqueue_on_commit("tests.jobs.add", 3, 4, _queue_name=queue_name, _defer_until=at)
    after_ms = time.time() * 1000 + 1
    assert before_ms + 60_000 <= (redis_client.zscore(queue_name, later) or 0) <= after_ms + 60_000
    assert 0 < redis_client.pttl(f"arq:job:{later}") <= 600_000  # not the default: a day past its start
    assert redis_client.zscore(queue_name, fixed) == score_not_before(at) == at.timestamp() * 1000 + 1


def test_the_transaction_of_the_database_given_counts(queue_name: str, redis_client: redis.Redis) -> None:
    """A job bound to another database's transaction is sent at once while that database has none."""
    spec = JobSpec("tests.jobs.add", (3, 4), queue_name=queue_name)
    with another_database(), transaction.atomic():  # the default database's transaction
        one = enqueue_on_commit("tests.jobs.add", 1, 2, _queue_name=queue_name, _using="elsewhere")
        (many,) = enqueue_many_on_commit([spec], using="elsewhere")
        assert redis_client.zscore(queue_name, one) is not None
        assert redis_client.zscore(queue_name, many) is not None


def test_a_failed_send_is_logged_with_every_job_id(queue_name: str, settings, caplog) -> None:  # type: ignore[no-untyped-def]
    down = {**settings.ARQ_QUEUES["default"], "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}
    down["OPTIONS"] = {"conn_timeout": 0.2, "conn_retries": 0}
    specs = [JobSpec("tests.jobs.add", (1, 2), queue_name=queue_name, job_id=i) for i in ("first", "second")]
    with (
        override_settings(ARQ_QUEUES={**settings.ARQ_QUEUES, "down": down}),
        caplog.at_level(logging.ERROR, logger="django_arq.records"),
        transaction.atomic(),
    ):
        enqueue_many_on_commit(specs, alias="down")
    (message,) = [r.getMessage() for r in caplog.records if r.name == "django_arq.records"]
    assert message.startswith("could not enqueue job(s) first, second after commit (alias 'down'): Redis at ")
    assert any(
        r.name == "django.db.backends.base" and r.exc_info for r in caplog.records
    )  # Django's traceback
