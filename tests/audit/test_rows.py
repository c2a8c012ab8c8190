"""The rows module on its own: storable text and job ids at their column's edge, a record's
row, its safe form, and the database records go to."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from django.test.utils import override_settings

from django_arq.audit.payloads import JsonText
from django_arq.audit.rows import (
    NOT_STORABLE,
    NOT_STORABLE_ARGS,
    database_of,
    describe_row,
    record_rows,
    records_db,
    safe_row,
    storable_fields,
    storable_id,
)
from django_arq.models import JobRecord
from django_arq.queues import JobStatus
from django_arq.queues.jobs import JobMetadata
from django_arq.queues.text import storable_text

T0 = datetime(2020, 1, 2, 3, 4, 5, tzinfo=UTC)
ID_LENGTH = 255  # JobRecord.job_id's max_length


def test_storable_text_replaces_nul_and_lone_surrogates_only() -> None:
    assert storable_text("plain") == "plain"
    assert storable_text("a\x00b") == "a\ufffdb"
    assert storable_text("\ud800x\udfff") == "\ufffdx\ufffd"
    assert storable_text("été 😀") == "été 😀"


def test_storable_text_is_cut_to_its_length_with_an_ellipsis() -> None:
    assert storable_text("abcde", 5) == "abcde"
    assert storable_text("abcdef", 5) == "abcd…"
    assert storable_text("é\x00cdef", 5) == "é\ufffdcd…"
    assert storable_text("x" * 1000) == "x" * 1000


def digest(job_id: str) -> str:
    return hashlib.sha256(job_id.encode("utf-8", "surrogatepass")).hexdigest()[:10]


def test_a_job_id_that_fits_is_kept_as_it_is() -> None:
    assert storable_id("j" * ID_LENGTH) == "j" * ID_LENGTH
    assert storable_id("été") == "été"
    assert storable_id("a\x00b") == "a\ufffdb"
    assert storable_id("\x00" + "j" * (ID_LENGTH - 1)) == "\ufffd" + "j" * (
        ID_LENGTH - 1
    )  # fits once replaced


def test_a_long_job_id_is_cut_with_a_digest_of_the_whole_id() -> None:
    long_id = "j" * (ID_LENGTH + 1)
    stored = storable_id(long_id)
    assert stored == "j" * (ID_LENGTH - 11) + "…" + digest(long_id)
    assert len(stored) == ID_LENGTH
    assert storable_id(long_id[:-1] + "k") != stored  # two long ids stay two records
    odd = "\ud800" * (ID_LENGTH + 1)
    assert storable_id(odd) == "\ufffd" * (ID_LENGTH - 11) + "…" + digest(odd)


def meta(job_id: str, **fields: Any) -> JobMetadata:
    values = {"name": "n", "args": (), "kwargs": {}, "enqueue_time": T0, "status": JobStatus.queued,
              "queue_name": "q", **fields}  # fmt: skip
    return JobMetadata(id=job_id, **values)


def test_record_rows_hold_each_field_made_storable() -> None:
    first, second = record_rows(
        "alias-a",
        [
            meta("a", name="tasks.x", args=(1, "two"), kwargs={"k": [3]}, trace_id="t" * 32),
            meta("b", name="n" * 300, queue_name="q\x00" + "q" * 300, status=JobStatus.deferred),
        ],
    )
    assert first == {
        "job_id": "a",
        "name": "tasks.x",
        "args": JsonText('[1, "two"]'),
        "kwargs": JsonText('{"k": [3]}'),
        "enqueue_time": T0,
        "status": "queued",
        "queue_name": "q",
        "alias": "alias-a",
        "trace_id": "t" * 32,
    }
    assert (second["name"], second["queue_name"]) == ("n" * 254 + "…", "q\ufffd" + "q" * 252 + "…")
    assert (second["status"], second["trace_id"], second["args"]) == ("deferred", "", JsonText("[]"))


def test_storable_fields_fit_text_columns_and_leave_the_rest() -> None:
    fields = {
        "job_id": "j" * 300,
        "worker_id": "w\x00" + "w" * 100,
        "error": "e" * 5000,
        "queue_name": "é",
        "name": "n\x00",
        "job_try": 3,
        "not_a_column": "x" * 300,
    }
    assert storable_fields(fields) == {
        "job_id": "j" * 300,  # storable_id's business
        "worker_id": "w\ufffd" + "w" * 61 + "…",
        "error": "e" * 5000,  # unbounded
        "queue_name": "é",
        "name": "n\ufffd",
        "job_try": 3,
        "not_a_column": "x" * 300,
    }


def test_the_safe_form_of_a_row() -> None:
    row = {
        "job_id": "id\x00",
        "alias": "al\ud800",
        "name": "n\x00é\ud800" + "n" * 300,
        "args": JsonText("[1]"),
        "kwargs": {"k": 1},
        "result": 5,
        "progress": JsonText("{}"),
        "error": None,
        "job_try": 2,
    }
    safe = safe_row(row)
    assert safe == {
        "job_id": "id\x00",
        "alias": "al\ud800",
        "name": ("n\\x00\\xe9\\ud800" + "n" * 300)[:254] + "…",
        "args": NOT_STORABLE_ARGS,
        "kwargs": NOT_STORABLE,
        "result": NOT_STORABLE,
        "progress": NOT_STORABLE,
        "error": None,
        "job_try": 2,
    }
    assert safe_row({"args": None, "error": "e\x00" * 3000})["error"] == "e\\x00" * 3000
    assert safe_row({"args": None})["args"] is None


def test_describe_row() -> None:
    assert describe_row({"alias": "a", "job_id": "j'1", "name": "n"}) == "alias 'a', job \"j'1\""


class ToOther:
    def db_for_write(self, model: Any, **hints: Any) -> str | None:
        return "other" if model is JobRecord else None


def test_records_go_to_the_database_the_routers_choose() -> None:
    assert records_db() == "default"
    with override_settings(DATABASE_ROUTERS=[f"{__name__}.ToOther"]):
        assert records_db() == "other"


def test_a_database_is_known_by_its_engine_name_host_and_port() -> None:
    from django.db import connections

    config = connections.settings["default"]
    expected = (config["ENGINE"], config["NAME"], config["HOST"], config["PORT"])
    assert database_of("default") == expected
    assert database_of("no-such-database") is None
