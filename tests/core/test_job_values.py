"""The pure rules of queues/jobs.py that both backends apply: a job's options, its schedule and
status, new ids, the errors of a refused batch, and how progress and aborts are read."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid
from unittest import mock

import arq.utils
import pytest
from arq.constants import expires_extra_ms
from arq.jobs import JobStatus
from hypothesis import given
from hypothesis import strategies as st

from django_arq import ArqJobError, JobMetadata, JobResult, JobSpec
from django_arq.queues.exceptions import InvalidJob, JobNotQueued
from django_arq.queues.jobs import (
    MAX_DELAY,
    JobProgress,
    QueueCounts,
    check_delay,
    check_distinct_ids,
    check_queue_name,
    ids_taken,
    is_abort_result,
    is_valid_job_id,
    job_ids,
    job_status,
    parse_aware_time,
    score_not_before,
    span_names,
    unserializable,
)
from django_arq.queues.serializers import SerializedError
from tests.jobs import add

WHEN = dt.datetime(2026, 3, 4, 5, 6, 7, tzinfo=dt.UTC)
WHEN_MS = int(WHEN.timestamp() * 1000)


# -- options ---------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [None, 0, 0.0, dt.timedelta(0), MAX_DELAY, MAX_DELAY.total_seconds()])
def test_delays_from_none_to_the_maximum_are_accepted(value: object) -> None:
    check_delay("_defer_by", value)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (True, "_x must be a number of seconds or a timedelta, not bool"),
        ("1", "_x must be a number of seconds or a timedelta, not str"),
        (-0.001, "_x must be from 0 to 31622400000 seconds, not -0.001"),
        (
            dt.timedelta(seconds=-1),
            "_x must be from 0 to 31622400000 seconds, not datetime.timedelta(days=-1, ",
        ),
        (
            MAX_DELAY + dt.timedelta(seconds=1),
            "_x must be from 0 to 31622400000 seconds, not datetime.timedelta(",
        ),
        (float("nan"), "_x must be from 0 to 31622400000 seconds, not nan"),
    ],
    ids=repr,
)
def test_delays_refused_say_why_in_one_line(value: object, message: str) -> None:
    with pytest.raises(InvalidJob) as info:
        check_delay("_x", value)
    assert str(info.value).startswith(message)


def test_queue_names_are_checked_and_returned() -> None:
    assert check_queue_name("emails") == "emails"
    assert check_queue_name("arq:queue") == "arq:queue"  # arq's default queue is a queue
    for name, message in [
        (5, "queue name must be a non-empty string, not 5"),
        ("", "queue name must be a non-empty string, not ''"),
        ("a\ud800", "queue name 'a\\ud800' is not valid text (it holds a lone surrogate)"),
        ("arq:abort", "queue name 'arq:abort' names one of arq's own Redis keys, not a queue"),
        ("arq:retry:q", "queue name 'arq:retry:q' names one of arq's own Redis keys, not a queue"),
        ("q:health-check", "queue name 'q:health-check' names one of arq's own Redis keys, not a queue"),
    ]:
        with pytest.raises(InvalidJob) as info:
            check_queue_name(name)
        assert str(info.value) == message


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        (
            {"name": b"tests.jobs.add"},
            TypeError,
            "task name must be a non-empty string, not b'tests.jobs.add'",
        ),
        ({"name": ""}, InvalidJob, "task name must be a non-empty string"),
        (  # the habit of other queues (Celery's, django-rq's): the function itself
            {"name": add},
            TypeError,
            "task name must be the function's dotted path: pass 'tests.jobs.add', not the function itself",
        ),
        ({"name": lambda: None}, TypeError, "task name must be a non-empty string, not <function "),
        ({"name": len}, TypeError, "task name must be a non-empty string, not <built-in function len>"),
        ({"defer_until": WHEN, "defer_by": 0}, InvalidJob, "use either _defer_until or _defer_by, not both"),
        (
            {"defer_until": WHEN.replace(tzinfo=None)},
            InvalidJob,
            "_defer_until must be a timezone-aware datetime, not datetime.datetime(2026, 3, 4, 5, 6, 7)",
        ),
        ({"defer_until": 1}, InvalidJob, "_defer_until must be a timezone-aware datetime, not 1"),
        ({"expires": -1}, InvalidJob, "_expires must be from 0"),
        ({"defer_by": -1}, InvalidJob, "_defer_by must be from 0"),
        ({"job_id": 7}, TypeError, "job id must be a string, not int"),
        ({"job_id": "\ud800"}, InvalidJob, "job id '\\ud800' is not valid text"),
        ({"queue_name": "arq:abort"}, InvalidJob, "queue name 'arq:abort' names one of arq's own"),
    ],
    ids=repr,
)
def test_a_job_spec_refuses_bad_options(options: dict, error: type[Exception], message: str) -> None:
    with pytest.raises(error) as info:
        JobSpec(**{"name": "tests.jobs.add", **options})
    assert str(info.value).startswith(message)


def test_a_job_spec_takes_good_options() -> None:
    spec = JobSpec(
        "tests.jobs.add", defer_until=WHEN, expires=dt.timedelta(hours=1), queue_name="q", job_id=""
    )
    assert (spec.defer_until, spec.queue_name, spec.job_id) == (WHEN, "q", "")
    assert JobSpec("t", defer_by=dt.timedelta(0), job_id="a").defer_by == dt.timedelta(0)


# -- schedule and status -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "extra", "expected"),
    [
        ({}, 1000, (WHEN_MS, 1000)),
        ({}, 0, (WHEN_MS, 1)),  # a time to live is at least 1 ms
        ({"defer_by": 0}, 1000, (WHEN_MS, 1000)),
        ({"defer_by": 2.5}, 1000, (WHEN_MS + 2500, 3500)),
        ({"defer_by": dt.timedelta(minutes=1)}, 1000, (WHEN_MS + 60_000, 61_000)),
        # a deferred job's score is a millisecond past its time: it may not start before it
        ({"defer_until": WHEN + dt.timedelta(seconds=9)}, 1000, (WHEN_MS + 9001, 10_001)),
        # in the past: due now, and kept as long as a job enqueued now (not a day less the delay)
        ({"defer_until": WHEN - dt.timedelta(seconds=9)}, 1000, (WHEN_MS - 8999, 1000)),
        ({"defer_until": WHEN - dt.timedelta(days=2)}, 1000, (WHEN_MS - 2 * 86_400_000 + 1, 1000)),
        ({"defer_by": 0.0004}, 1000, (WHEN_MS, 1000)),  # rounds to 0 ms: not deferred, as arq
        ({"expires": 7}, 1000, (WHEN_MS, 7000)),
        ({"expires": 0}, 1000, (WHEN_MS, 1000)),  # as arq: no expiry given
        ({"expires": 0.0004}, 1000, (WHEN_MS, 1000)),  # rounds to 0 ms: as arq, none given
        ({"defer_by": 30, "expires": 7}, 1000, (WHEN_MS + 30_000, 7000)),
    ],
    ids=repr,
)
def test_schedule_is_arqs_rule(options: dict, extra: int, expected: tuple[int, int]) -> None:
    assert JobSpec("t", **options).schedule(WHEN_MS, extra) == expected


@given(
    when=st.datetimes(
        min_value=dt.datetime(1970, 1, 2), max_value=dt.datetime(2200, 1, 1), timezones=st.just(dt.UTC)
    ),
    late_us=st.integers(min_value=-3000, max_value=3000),
)
def test_a_job_deferred_until_a_time_starts_neither_before_it_nor_two_ms_after(
    when: dt.datetime, late_us: int
) -> None:
    """The worker's test is arq's own: the clock rounded to the nearest ms against the score."""
    score, _ = JobSpec("t", defer_until=when).schedule(WHEN_MS)
    clock = when + dt.timedelta(microseconds=late_us)
    with mock.patch("arq.utils.time", return_value=clock.timestamp()):
        due = score <= arq.utils.timestamp_ms()
    if late_us < 0:
        assert not due, (score, clock)
    if late_us >= 2000:
        assert due, (score, clock)


def test_a_deferred_score_counts_whole_microseconds_not_floats() -> None:
    # 0.0005 s past a millisecond: a float timestamp would round this either way
    assert score_not_before(dt.datetime(2026, 3, 4, 5, 6, 7, 500, tzinfo=dt.UTC)) == WHEN_MS + 1
    assert score_not_before(dt.datetime(2026, 3, 4, 5, 6, 7, 501, tzinfo=dt.UTC)) == WHEN_MS + 2
    assert score_not_before(dt.datetime(1, 1, 1, tzinfo=dt.UTC)) == -62_135_596_800_000 + 1


def test_schedule_keeps_a_payload_a_day_past_its_start_by_default() -> None:
    assert JobSpec("t", defer_by=10).schedule(WHEN_MS) == (WHEN_MS + 10_000, 10_000 + expires_extra_ms)
    assert expires_extra_ms == 86_400_000


@pytest.mark.parametrize(
    ("in_progress", "score", "status"),
    [
        (True, WHEN_MS + 1, JobStatus.in_progress),
        (True, None, JobStatus.in_progress),
        (False, WHEN_MS + 1, JobStatus.deferred),
        (False, WHEN_MS, JobStatus.queued),
        (False, WHEN_MS - 1, JobStatus.queued),
        (False, None, JobStatus.queued),
    ],
)
def test_status_of_an_unfinished_job(in_progress: bool, score: float | None, status: JobStatus) -> None:
    assert job_status(in_progress, score, WHEN_MS) is status


# -- ids and the errors of a batch -------------------------------------------------------------


@pytest.mark.parametrize("missing", [1, 2, 3, 400])
def test_new_ids_are_uuid4_hex_with_random_bits_and_given_ids_are_kept(missing: int) -> None:
    specs = [
        JobSpec("t", job_id="given-1"),
        *(JobSpec("t") for _ in range(missing)),
        JobSpec("t", job_id="g2"),
    ]
    ids = job_ids(specs)
    assert (ids[0], ids[-1], len(ids)) == ("given-1", "g2", missing + 2)
    fresh = ids[1:-1]
    assert len(set(fresh)) == missing
    for job_id in fresh:
        parsed = uuid.UUID(hex=job_id)
        assert parsed.hex == job_id and parsed.version == 4 and parsed.variant == uuid.RFC_4122
    if missing >= 100:  # every bit but the version's and the variant's is random
        values = [uuid.UUID(hex=i).int for i in fresh]
        fixed = (0xF << 76) | (0x3 << 62)
        for bit in range(128):
            if not fixed >> bit & 1:
                assert {v >> bit & 1 for v in values} == {0, 1}, bit
        raw = [bytes.fromhex(i) for i in fresh]
        # the random bits beside the version and the variant are their own, not a neighbour's copy
        for byte, mask in ((6, 0x0F), (8, 0x3F)):
            for other in (byte - 1, byte + 1):
                same = sum(1 for r in raw if r[byte] & mask == r[other] & mask)
                assert same < missing / 2, (byte, other)


def test_span_names_are_the_function_the_queue_or_the_default_and_the_id() -> None:
    specs = [JobSpec("a"), JobSpec("b", queue_name="other")]
    assert span_names(specs, ["i1", "i2"], "main") == [("a", "main", "i1"), ("b", "other", "i2")]
    with pytest.raises(ValueError):
        span_names(specs, ["i1"], "main")


def test_a_batch_naming_an_id_twice_is_refused() -> None:
    check_distinct_ids(["a", "b", "c"])
    check_distinct_ids([])
    with pytest.raises(JobNotQueued) as info:
        check_distinct_ids(["z", "b", "a", "z", "b"])
    assert str(info.value) == "job id 'b' appears twice in one batch"
    assert (info.value.job_id, info.value.job_ids) == ("b", ("b", "z"))


def test_the_error_of_ids_taken_names_them() -> None:
    one = ids_taken(("a",))
    assert (str(one), one.job_id, one.job_ids) == (
        "job id 'a' already exist; nothing was enqueued",
        "a",
        ("a",),
    )
    two = ids_taken(("a", "b"))
    assert (str(two), two.job_id, two.job_ids) == (
        "job ids 'a', 'b' already exist; nothing was enqueued",
        "a",
        ("a", "b"),
    )


def test_the_error_of_unserializable_arguments_names_the_task_serializer_and_cause() -> None:
    spec = JobSpec("tests.jobs.add")
    plain = unserializable(spec, "json", "id1", TypeError("set is not JSON"))
    assert isinstance(plain, JobNotQueued) and plain.job_id == "id1"
    assert (
        str(plain)
        == "cannot serialize the arguments of 'tests.jobs.add' with the json serializer: set is not JSON"
    )
    try:
        raise ValueError("wrapper") from TypeError("the cause")
    except ValueError as exc:
        assert str(unserializable(spec, "pickle", "id2", exc)).endswith(
            "with the pickle serializer: the cause"
        )


# -- reading progress, results and aborts ------------------------------------------------------


@pytest.mark.parametrize(
    ("done", "total", "fraction", "message", "percent", "summary"),
    [
        (40, 100, 0.4, "rows 400/1000", "40%", "40/100 (40%) rows 400/1000"),
        (40.0, None, None, "rows", None, "40 rows"),
        (2.5, 10, 0.25, None, "25%", "2.5/10 (25%)"),
        (996, 1000, 0.996, "", "99%", "996/1000 (99%)"),
        (1e-7, None, None, None, None, "1e-07"),
        (12_345_678, None, None, "rows", None, "12345678 rows"),  # a whole count in full
        (5, 4, 1.25, None, "100%", "5/4 (100%)"),  # a fraction past 1 edited into a record by hand
        (-1, 4, -0.25, None, "0%", "-1/4 (0%)"),
        (1, 1, 1.0, None, "100%", "1/1 (100%)"),
    ],
)
def test_progress_percent_and_summary(
    done: float,
    total: float | None,
    fraction: float | None,
    message: str | None,
    percent: str | None,
    summary: str,
) -> None:
    progress = JobProgress(done=done, total=total, fraction=fraction, message=message, time=WHEN)
    assert (progress.percent, progress.summary()) == (percent, summary)


def test_the_metadata_of_a_result_is_its_metadata_part() -> None:
    progress = JobProgress(done=1, total=None, fraction=None, message=None, time=WHEN)
    result = JobResult(
        id="j",
        name="t",
        args=(1,),
        kwargs={"k": 2},
        enqueue_time=WHEN,
        status=JobStatus.complete,
        queue_name="q",
        progress=progress,
        trace_id="ab" * 16,
        start_time=WHEN,
        finish_time=WHEN,
        success=True,
        result=3,
    )
    meta = result.metadata()
    assert type(meta) is JobMetadata
    assert meta == JobMetadata(
        "j", "t", (1,), {"k": 2}, WHEN, JobStatus.complete, "q", progress=progress, trace_id="ab" * 16
    )


def test_queue_counts_default_to_no_health_and_an_exact_count() -> None:
    counts = QueueCounts("q", queued=1, deferred=2, in_progress=3)
    assert (counts.in_progress_capped, counts.health, counts.health_ttl) == (False, None, None)


@pytest.mark.parametrize(
    ("success", "result", "aborted"),
    [
        (False, asyncio.CancelledError(), True),
        (False, SerializedError("asyncio.exceptions.CancelledError", ""), True),  # the JSON serializer's
        (True, asyncio.CancelledError(), False),
        (True, SerializedError("asyncio.exceptions.CancelledError", ""), False),
        (False, SerializedError("builtins.ValueError", "x"), False),
        (False, ValueError("x"), False),
        (False, None, False),
    ],
    ids=repr,
)
def test_an_abort_is_read_from_a_failed_result_of_cancelled_error(
    success: bool, result: object, aborted: bool
) -> None:
    assert is_abort_result(success, result) is aborted


def test_refusals_are_arq_job_errors() -> None:
    with pytest.raises(ArqJobError):
        JobSpec("")


@pytest.mark.parametrize("job_id", ["X", "XX.X", "..X", "x.", "0"])
def test_ids_of_any_letters_with_dots_are_safe(job_id: str) -> None:
    assert is_valid_job_id(job_id)


# -- aware times ------------------------------------------------------------------------------


def test_an_iso_time_with_its_offset_is_read_as_it_is() -> None:
    plus_two = dt.timezone(dt.timedelta(hours=2))
    parsed = parse_aware_time("2026-03-04T07:06:07+02:00")
    assert parsed == WHEN and parsed is not None and parsed.tzinfo == plus_two


@pytest.mark.parametrize(
    "value",
    [
        None,
        42,
        WHEN,  # a datetime, not text
        "",
        "yesterday",
        "2026-03-04T05:06:07",  # no offset
        "0001-01-01T00:00:00+01:00",  # before the first time in UTC
        "9999-12-31T23:30:00-01:00",  # after the last time in UTC
    ],
)
def test_what_is_not_an_aware_time_every_zone_can_show_is_none(value: object) -> None:
    assert parse_aware_time(value) is None


def test_the_edges_of_the_utc_range_are_aware_times() -> None:
    assert parse_aware_time("0001-01-01T00:00:00+00:00") == dt.datetime.min.replace(tzinfo=dt.UTC)
    last = dt.datetime.max.replace(microsecond=0, tzinfo=dt.UTC)
    assert parse_aware_time("9999-12-31T23:59:59-00:00") == last


@pytest.mark.skipif(not hasattr(time, "tzset"), reason="the process's zone is set through TZ")
def test_the_utc_range_is_checked_whatever_the_machines_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Pacific/Kiritimati")  # UTC+14: the last UTC hours are past year 9999
    time.tzset()
    try:
        last_hour = dt.datetime(9999, 12, 31, 23, tzinfo=dt.UTC)
        assert parse_aware_time("9999-12-31T23:00:00+00:00") == last_hour
    finally:
        monkeypatch.undo()
        time.tzset()
