"""AuditedQueue's records written in the enqueue call ("immediate"): a record the database
refuses is dropped and named, not raised, unless the caller's transaction is the records'."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.test.utils import override_settings

from django_arq import JobSpec, MockArqQueue
from django_arq.audit.queue import AuditedQueue
from django_arq.models import JobRecord
from django_arq.queues.jobs import JobMetadata, JobStatus
from tests.audit.databases import another_database

pytestmark = pytest.mark.django_db(transaction=True)

DROPPED = "dropped the job record of alias 'a', job 'refused': the database refused it even in a safe form"


class Refusing(MockArqQueue):
    """Answers an enqueue with metadata whose record every database refuses: no enqueue time."""

    def enqueue_many_sync(self, jobs: Sequence[JobSpec]) -> list[JobMetadata]:
        no_time: Any = None
        return [JobMetadata("refused", "n", (), {}, no_time, JobStatus.queued, "q")]


class ToElsewhere:
    def db_for_write(self, model: Any, **hints: Any) -> str | None:
        return "elsewhere" if model is JobRecord else None


def test_a_record_refused_outside_a_transaction_is_dropped_and_named(
    caplog: pytest.LogCaptureFixture,
) -> None:
    queue = AuditedQueue(Refusing(), "a", immediate=True)
    with caplog.at_level(logging.ERROR, logger="django_arq.records"):
        (meta,) = queue.enqueue_many_sync([JobSpec("n")])
    assert meta.id == "refused"
    (message,) = caplog.messages
    assert message.startswith(f"{DROPPED} (IntegrityError: ")
    assert not JobRecord.objects.exists()


def test_a_record_refused_in_a_transaction_raises() -> None:
    queue = AuditedQueue(Refusing(), "a", immediate=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        queue.enqueue_many_sync([JobSpec("n")])


def test_the_transaction_that_counts_is_the_records_database(caplog: pytest.LogCaptureFixture) -> None:
    queue = AuditedQueue(Refusing(), "a", immediate=True)
    routed = override_settings(DATABASE_ROUTERS=[f"{__name__}.ToElsewhere"])
    logs = caplog.at_level(logging.ERROR, logger="django_arq.records")
    with logs, another_database(), routed, transaction.atomic():  # the default database's transaction
        queue.enqueue_many_sync([JobSpec("n")])
    assert caplog.messages[0].startswith(DROPPED)
