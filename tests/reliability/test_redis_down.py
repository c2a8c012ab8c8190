"""Redis down at enqueue time: a clear error naming the URL (password hidden), and no record that
claims the job is queued, inside or outside a transaction, sync or async, single or bulk, with the
record written at once or deferred. (Down at commit time, for enqueue_on_commit inside a
transaction: tests/worker/test_on_commit.py::test_redis_down_at_commit.)"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth.models import Group
from django.db import transaction
from django.test.utils import override_settings

from django_arq import JobSpec, RedisUnavailable, get_queue
from django_arq.audit.on_commit import enqueue_on_commit
from django_arq.audit.writer import flush_records
from django_arq.models import JobRecord
from tests.helpers import free_port
from tests.reliability.conftest import FAST_FAIL

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "s3cret-pass"


@pytest.fixture(params=[True, "immediate"], ids=["audit", "immediate-audit"])
def down(request: pytest.FixtureRequest, settings: Any) -> Iterator[int]:
    """The "down" alias points at a port nothing listens on; yields that port."""
    port = free_port()
    alias = {
        **settings.ARQ_QUEUES["default"],
        "REDIS_URL": f"redis://:{PASSWORD}@127.0.0.1:{port}/0",
        "OPTIONS": FAST_FAIL,
        "AUDIT": request.param,
    }
    with override_settings(ARQ_QUEUES={**settings.ARQ_QUEUES, "down": alias}):
        yield port


def enqueue(how: str) -> Any:
    queue = get_queue("down")
    specs = [JobSpec("tests.jobs.add", (i, 1), job_id=f"down-{how}-{i}") for i in range(3)]
    if how == "sync":
        return queue.enqueue_sync("tests.jobs.add", 1, 2, _job_id=f"down-{how}")
    if how == "async":
        return async_to_sync(queue.enqueue)("tests.jobs.add", 1, 2, _job_id=f"down-{how}")
    if how == "bulk-sync":
        return queue.enqueue_many_sync(specs)
    if how == "bulk-async":
        return async_to_sync(queue.enqueue_many)(specs)
    return enqueue_on_commit("tests.jobs.add", 1, 2, _alias="down", _job_id=f"down-{how}")


HOW = ["sync", "async", "bulk-sync", "bulk-async"]
#: enqueue_on_commit inside a transaction raises at commit: tests/worker/test_on_commit.py covers it.
CASES = [(how, False) for how in [*HOW, "on-commit"]] + [(how, True) for how in HOW]


@pytest.mark.parametrize(
    ("how", "atomic"), CASES, ids=[f"{h}-{'atomic' if a else 'autocommit'}" for h, a in CASES]
)
def test_clear_error_and_no_record(down: int, how: str, atomic: bool) -> None:
    block = transaction.atomic() if atomic else contextlib.nullcontext()
    with block:
        Group.objects.create(name="before")
        with pytest.raises(RedisUnavailable) as raised:
            enqueue(how)
        Group.objects.create(name="after")  # the transaction is still usable
    message = str(raised.value)
    assert f"127.0.0.1:{down}" in message
    assert PASSWORD not in message
    assert "Traceback" not in message
    flush_records()  # deferred records, if any were (wrongly) kept back
    assert not JobRecord.objects.filter(job_id__startswith="down-").exists()
    assert set(Group.objects.values_list("name", flat=True)) == {"before", "after"}
