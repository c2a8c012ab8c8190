"""``?progress=`` of a job query, parsed directly: what it gives, and each refusal's exact sentence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.test import RequestFactory

from django_arq.api.errors import ApiError
from django_arq.api.parsing import PROGRESS_MAX_LENGTH, JobQuery, parse_job_query


def query(**params: str) -> JobQuery:
    return parse_job_query(RequestFactory().get("/arq/jobs/abc/", params), "abc")


def refusal(**params: str) -> tuple[int, str, str]:
    with pytest.raises(ApiError) as info:
        query(**params)
    return info.value.status, info.value.code, info.value.detail


def test_without_progress_a_wait_does_not_watch_it() -> None:
    found = query(wait="1")
    assert (found.watch_progress, found.progress_seen) == (False, None)


def test_an_empty_progress_watches_a_job_that_reported_nothing_yet() -> None:
    found = query(progress="")
    assert (found.watch_progress, found.progress_seen) == (True, None)


def test_progress_is_the_time_last_seen_with_its_offset() -> None:
    found = query(progress="2026-12-01T11:00:00.250000+01:00")
    assert found.watch_progress is True
    assert found.progress_seen == datetime(2026, 12, 1, 10, 0, 0, 250000, tzinfo=UTC)
    assert found.progress_seen.utcoffset() == timedelta(hours=1)


@pytest.mark.parametrize(
    ("value", "detail"),
    [
        ("yesterday", "'progress' must be the progress.time last seen (ISO 8601), or empty"),
        ("2026-12-01T10:00:00", "'progress' must be a time with its UTC offset, as progress.time gives it"),
        (
            "2026-12-01T10:00:00\x00+00:00",
            "'progress' must not contain control characters or lone surrogates",
        ),
        (
            "9" * (PROGRESS_MAX_LENGTH + 1),
            f"'progress' must be at most {PROGRESS_MAX_LENGTH} characters long",
        ),
        (
            "\x00" * (PROGRESS_MAX_LENGTH + 1),
            f"'progress' must be at most {PROGRESS_MAX_LENGTH} characters long",
        ),
    ],
)
def test_each_bad_progress_is_refused_with_its_sentence(value: str, detail: str) -> None:
    assert refusal(progress=value) == (400, "invalid_field", detail)


def test_the_length_limit_is_inclusive() -> None:
    assert PROGRESS_MAX_LENGTH == 64
    # 64 characters: refused for what it says, not for its length.
    at_limit = "2026-12-01T10:00:00" + "x" * (PROGRESS_MAX_LENGTH - 19)
    detail = "'progress' must be the progress.time last seen (ISO 8601), or empty"
    assert refusal(progress=at_limit)[2] == detail


def test_unknown_parameters_are_still_refused_beside_progress() -> None:
    assert refusal(progress="", x="1") == (400, "unknown_field", "unknown query parameters ['x']")
