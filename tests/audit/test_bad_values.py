"""One bad value never stops JobRecord writes: values made storable, refused rows set aside."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterator, Sequence
from contextlib import nullcontext
from functools import partial
from typing import Any

import pytest
import redis
from asgiref.sync import async_to_sync
from django.db import OperationalError, ProgrammingError, connection
from django.test.utils import override_settings

from django_arq import JobSpec, get_queue
from django_arq.audit.inserts import upsert_records
from django_arq.audit.payloads import JsonText, json_text
from django_arq.audit.rows import record_rows, safe_row, storable_id
from django_arq.audit.salvage import table_answers, write_salvaging
from django_arq.audit.writer import RecordWriter, flush_records
from django_arq.models import JobRecord
from django_arq.queues.jobs import JobMetadata, JobStatus
from django_arq.queues.text import ELLIPSIS, storable_text

pytestmark = pytest.mark.django_db(transaction=True)

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
#: Values PostgreSQL refuses (NUL, lone surrogates), and what records store instead.
BAD = ["a\x00b", "\ud800", "x\udfffy", {"k\x00": ["\udc00"]}]
STORED = ["a\ufffdb", "\ufffd", "x\ufffdy", {"k\ufffd": ["\ufffd"]}]


def test_text_is_made_storable_visibly() -> None:
    assert storable_text("plain") == "plain"
    assert storable_text("a\x00b\ud800c\U0001f600") == "a\ufffdb\ufffdc\U0001f600"
    assert storable_text("x" * 300, 255) == "x" * 254 + ELLIPSIS
    assert len(storable_text("\x00" * 300, 255)) == 255


def test_long_job_ids_stay_distinct_and_the_same_on_both_sides() -> None:
    long_a, long_b = "j" * 300 + "a", "j" * 300 + "b"
    assert storable_id("short-id") == "short-id"
    assert storable_id(long_a) != storable_id(long_b)
    assert storable_id(long_a) == storable_id(long_a) and len(storable_id(long_a)) == 255
    assert ELLIPSIS in storable_id(long_a)
    assert storable_id("a\x00b") == "a\ufffdb"


def test_json_text_replaces_only_what_cannot_be_stored() -> None:
    assert json.loads(json_text(BAD)) == STORED
    kept = ["\U0001f600", "\\u0000", "\\\\ud800", "\\", "\u00e9"]  # a pair, escaped backslashes
    assert json.loads(json_text(kept)) == kept
    assert json.loads(json_text(["\ud83d\ude00"])) == ["\U0001f600"]  # a pair as two code points


def test_integers_too_long_to_write_are_described() -> None:
    assert json.loads(json_text([10**5000, 10**100])) == [{"repr": "<int of 16610 bits>"}, 10**100]


@pytest.fixture
def long_queue(queue_name: str, redis_client: redis.Redis) -> Iterator[str]:
    name = f"{queue_name}:{'q' * 300}"
    yield name
    ids = [i.decode() for i in redis_client.zrange(name, 0, -1)]  # type: ignore[union-attr]
    redis_client.delete(name, *[f"arq:job:{i}" for i in ids])


@pytest.mark.parametrize("how", ["sync", "async", "many"])
def test_values_postgresql_refuses_do_not_stop_the_writer(how: str, queue_name: str, long_queue: str) -> None:
    """NUL, lone surrogates and an over-long queue name: the records are written, visibly
    changed, and so are the records of jobs enqueued after them."""
    queue = get_queue()
    kwargs = {"key\x00": "\ud800", "n": 1}
    if how == "sync":
        bad = queue.enqueue_sync("tests.jobs.echo", *BAD, _queue_name=long_queue, **kwargs)
    elif how == "async":
        bad = async_to_sync(queue.enqueue)("tests.jobs.echo", *BAD, _queue_name=long_queue, **kwargs)
    else:
        (bad,) = queue.enqueue_many_sync([JobSpec("tests.jobs.echo", tuple(BAD), kwargs, long_queue)])
    good = queue.enqueue_sync("tests.jobs.add", 1, 2, _queue_name=queue_name)
    assert flush_records(10)
    record = JobRecord.objects.get(job_id=bad.id)
    assert (record.args, record.kwargs) == (STORED, {"key\ufffd": "\ufffd", "n": 1})
    assert record.queue_name == long_queue[:254] + ELLIPSIS
    assert JobRecord.objects.get(job_id=good.id).args == [1, 2]


def rows(*ids: str, **fields: Any) -> list[dict[str, Any]]:
    base = {"alias": "default", "name": "n", "enqueue_time": T0, "queue_name": "q", **fields}
    return [{"job_id": i, **base} for i in ids]


def test_a_refused_batch_is_split_and_only_the_bad_rows_set_aside(caplog: pytest.LogCaptureFixture) -> None:
    """Rows not made storable first (a NUL, a lone surrogate) are written in their safe form; a
    row the database refuses even so (a negative try count breaks a CHECK) is dropped and named."""
    unstorable = rows("bad-text", name="a\x00b\ud800", error="e\ud800") + rows(
        "bad-json", args=JsonText('["\\u0000"]')
    )
    refused = rows("bad-try", job_try=-1)
    write = partial(upsert_records, "default")
    batch = rows("g1", "g2") + unstorable + rows("g3") + refused + rows("g4", "g5")
    with caplog.at_level(logging.ERROR, logger="django_arq.records"):
        dropped = write_salvaging(batch, write, safe_row, str, lambda: table_answers("default"))
    assert [row["job_id"] for row in dropped] == ["bad-try"]
    stored = {r.job_id: r for r in JobRecord.objects.all()}
    assert set(stored) == {"g1", "g2", "g3", "g4", "g5", "bad-text", "bad-json"}
    assert (stored["bad-text"].name, stored["bad-text"].error) == ("a\\x00b\\ud800", "e\\ud800")
    # SQLite stores JSON as text, a NUL included; PostgreSQL's jsonb refuses it
    safe = ["\x00"] if connection.vendor == "sqlite" else [{"repr": "<not storable>"}]
    assert stored["bad-json"].args == safe
    assert "'bad-try'" in caplog.text and "dropped the job record" in caplog.text
    assert "'bad-text'" in caplog.text and "safe form" in caplog.text


def test_an_unavailable_database_keeps_everything_for_a_retry() -> None:
    calls: list[int] = []

    def down(chunk: Sequence[Any]) -> None:
        calls.append(len(chunk))
        raise OperationalError("connection refused")

    with pytest.raises(OperationalError):
        write_salvaging(rows("a", "b", "c"), down, safe_row, str, lambda: True)
    assert calls == [3]  # not split: the database, not a row, is at fault


def test_rows_refused_while_the_database_fails_its_probe_are_kept() -> None:
    """A missing table (ProgrammingError on PostgreSQL) refuses every row: nothing is dropped."""

    def refuse(chunk: Sequence[Any]) -> None:
        raise ProgrammingError('relation "django_arq_jobrecord" does not exist')

    with pytest.raises(ProgrammingError):
        write_salvaging(rows("a", "b"), refuse, safe_row, str, lambda: False)
    assert write_salvaging(rows("a"), refuse, safe_row, str, lambda: True) == rows("a")  # the probe answers


def meta(job_id: str, **fields: Any) -> JobMetadata:
    values = {"name": "n", "args": (), "kwargs": {}, "enqueue_time": T0, "status": JobStatus.queued,
              "queue_name": "q", **fields}  # fmt: skip
    return JobMetadata(id=job_id, **values)


def test_the_writer_sets_a_refused_record_aside(caplog: pytest.LogCaptureFixture) -> None:
    writer = RecordWriter(interval=0.01)
    try:
        writer.add("default", [meta("w1"), meta("w-refused", enqueue_time=None), meta("w2")])
        writer.add("default", [meta("w3", args=("\x00",))])
        assert writer.flush(10)
    finally:
        writer.stop()
    assert set(JobRecord.objects.values_list("job_id", flat=True)) == {"w1", "w2", "w3"}
    assert "alias 'default', job 'w-refused'" in caplog.text


def test_rows_are_only_written_to_the_database_they_were_meant_for(caplog: pytest.LogCaptureFixture) -> None:
    """The database's NAME changes between the hand-over and the write (pytest-django restoring the
    real database's settings at the end of a run): the rows are dropped with a warning."""
    writer = RecordWriter(interval=3600)  # writes only when flushed
    config = connection.settings_dict
    real = config["NAME"]
    try:
        writer.add("default", [meta("meant-for-the-test-database")])
        config["NAME"] = f"{real}-elsewhere"
        assert writer.flush(10)
    finally:
        config["NAME"] = real
        writer.stop()
    assert not JobRecord.objects.filter(job_id="meant-for-the-test-database").exists()
    assert "dropped 1 job record(s) meant for database 'default'" in caplog.text


def test_rows_for_a_database_no_longer_configured_are_dropped(caplog: pytest.LogCaptureFixture) -> None:
    writer = RecordWriter(interval=3600)
    databases = {**connection.settings_dict}
    with override_settings(DATABASE_ROUTERS=["tests.audit.test_bad_values.ToOther"]):
        from django.db import connections

        connections.settings["other"] = {**databases, "NAME": "other"}
        try:
            writer.add("default", [meta("meant-for-other")])
        finally:
            del connections.settings["other"]
        assert writer.flush(10)
    writer.stop()
    assert "meant for database 'other'" in caplog.text


class ToOther:
    def db_for_write(self, model: Any, **hints: Any) -> str:
        return "other"


def test_record_rows_are_storable() -> None:
    (row,) = record_rows("default", [meta("a\x00" + "i" * 300, name="n\ud800", queue_name="q" * 300)])
    assert row["job_id"] == storable_id("a\x00" + "i" * 300)
    assert (row["name"], row["queue_name"]) == ("n\ufffd", "q" * 254 + ELLIPSIS)


@pytest.mark.parametrize("audit", ["immediate", True])
def test_records_written_in_the_call_are_storable_too(audit: object, queue_name: str, settings: Any) -> None:
    """``AUDIT: "immediate"`` (and an enqueue inside a transaction) write in the call: same values."""
    from django.db import transaction

    aliases = {**settings.ARQ_QUEUES, "now": {**settings.ARQ_QUEUES["default"], "AUDIT": audit}}
    with override_settings(ARQ_QUEUES=aliases), transaction.atomic() if audit is True else nullcontext():
        meta = get_queue("now").enqueue_sync("tests.jobs.echo", *BAD, _queue_name=queue_name)
        if audit is True:  # inside the transaction: written at once, in it
            assert JobRecord.objects.filter(alias="now", job_id=meta.id).exists()
    assert JobRecord.objects.get(alias="now", job_id=meta.id).args == STORED


def test_a_connection_opened_on_another_database_is_not_reused(
    tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """The writer's thread holds a connection to the test database when the alias is switched to
    another database: rows for that one never go through the old connection."""
    writer = RecordWriter(interval=0.01)
    config = connection.settings_dict
    real = config["NAME"]
    try:
        writer.add("default", [meta("before-the-switch")])
        assert writer.flush(10)  # the thread's connection is open, on the test database
        other = str(tmp_path / "other.sqlite3") if connection.vendor == "sqlite" else f"{real}_other"
        config["NAME"] = other  # a database without the table (SQLite) or missing (PostgreSQL)
        writer.add("default", [meta("for-the-other-database")])
        assert writer.flush(0.5) is False  # kept for a retry: that database cannot take it
    finally:
        config["NAME"] = real
    assert writer.flush(10)  # the database it was meant for is gone: dropped
    writer.stop()
    assert set(JobRecord.objects.values_list("job_id", flat=True)) == {"before-the-switch"}
    assert "dropped 1 job record(s) meant for database 'default'" in caplog.text


class Unprintable(Exception):
    def __str__(self) -> str:
        raise AttributeError("no message")


@pytest.mark.parametrize("atomic", [False, True])
def test_an_argument_whose_text_cannot_be_made_is_recorded_described(atomic: bool) -> None:
    """Its ``str()`` once raised: outside a transaction the record was dropped, inside one the
    enqueue raised with the job already in Redis."""
    from django.db import transaction

    with transaction.atomic() if atomic else nullcontext():
        job = get_queue().enqueue_sync("tests.jobs.echo", Unprintable(), _queue_name="bad-values-args")
    assert flush_records()
    record = JobRecord.objects.get(job_id=job.id)
    message = "<Unprintable object; str() raised AttributeError>"
    assert record.args == [{"exception": f"{__name__}.Unprintable", "message": message}]
