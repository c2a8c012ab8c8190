"""API input parsing, called directly: every refusal's status, code and sentence, and the edges of
each limit (what bin/mutate found no test pinning)."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.test import RequestFactory, override_settings

from django_arq.api.errors import ApiError
from django_arq.api.parsing import (
    DEFAULT_MAX_BODY_SIZE,
    DEFAULT_MAX_WAIT,
    MAX_DEFER_BY,
    MAX_JSON_DEPTH,
    NAME_MAX_LENGTH,
    max_wait,
    parse_enqueue,
    parse_job_query,
    read_json,
)

TOO_DEEP = f"the JSON body is nested too deeply (at most {MAX_JSON_DEPTH} levels)"
FIELDS = "['name', 'args', 'kwargs', 'queue', 'alias', 'job_id', 'defer_by']"


def refusal(call: Any, *args: Any, **kwargs: Any) -> tuple[int, str, str]:
    with pytest.raises(ApiError) as info:
        call(*args, **kwargs)
    return info.value.status, info.value.code, info.value.detail


def body(data: bytes, content_type: str = "application/json", **meta: Any) -> Any:
    return RequestFactory().generic("POST", "/arq/jobs/", data, content_type=content_type, **meta)


ENQUEUE_REFUSALS = [
    ({"name": "tests.jobs.add", "extra": 1}, "unknown_field", f"unknown fields ['extra']; allowed: {FIELDS}"),
    ({}, "invalid_field", "'name' is required"),
    ({"name": ""}, "invalid_field", "'name' must be a non-empty string"),
    ({"name": 7}, "invalid_field", "'name' must be a non-empty string"),
    ({"name": "x" * (NAME_MAX_LENGTH + 1)}, "invalid_field", "'name' must be at most 255 characters long"),
    ({"name": "a\x00b"}, "invalid_field", "'name' must not contain control characters or lone surrogates"),
    ({"name": "a\x7fb"}, "invalid_field", "'name' must not contain control characters or lone surrogates"),
    ({"name": "a\x9fb"}, "invalid_field", "'name' must not contain control characters or lone surrogates"),
    ({"name": "a\ud800b"}, "invalid_field", "'name' must not contain control characters or lone surrogates"),
    ({"name": "tests.jobs.add", "args": {}}, "invalid_field", "'args' must be a JSON array"),
    ({"name": "tests.jobs.add", "kwargs": []}, "invalid_field", "'kwargs' must be a JSON object"),
    ({"name": "tests.jobs.add", "alias": "nope"}, "unknown_alias", "there is no queue alias 'nope'"),
    (
        {"name": "tests.jobs.nope"},
        "unknown_task",
        "'tests.jobs.nope' is not in ARQ_QUEUES['default']['WORKER']['FUNCTIONS']",
    ),
    (
        {"name": "tests.jobs.add", "queue": "arq:abort"},
        "invalid_field",
        "'queue' names one of arq's own Redis keys ('arq:abort'), not a queue",
    ),
    (
        {"name": "tests.jobs.add", "queue": "arq:job:x"},
        "invalid_field",
        "'queue' names one of arq's own Redis keys ('arq:job:x'), not a queue",
    ),
    (
        {"name": "tests.jobs.add", "queue": "arq:result:x"},
        "invalid_field",
        "'queue' names one of arq's own Redis keys ('arq:result:x'), not a queue",
    ),
    (
        {"name": "tests.jobs.add", "queue": "arq:in-progress:x"},
        "invalid_field",
        "'queue' names one of arq's own Redis keys ('arq:in-progress:x'), not a queue",
    ),
    (
        {"name": "tests.jobs.add", "queue": "arq:retry:x"},
        "invalid_field",
        "'queue' names one of arq's own Redis keys ('arq:retry:x'), not a queue",
    ),
    (
        {"name": "tests.jobs.add", "queue": "q:health-check"},
        "invalid_field",
        "'queue' names one of arq's own Redis keys ('q:health-check'), not a queue",
    ),
    ({"name": "tests.jobs.add", "job_id": 5}, "invalid_field", "'job_id' must be a string"),
    (
        {"name": "tests.jobs.add", "job_id": ".."},
        "invalid_job_id",
        "a job id is 1-200 letters, digits or . _ : @ + -, and not . or ..",
    ),
    (
        {"name": "tests.jobs.add", "job_id": "."},
        "invalid_job_id",
        "a job id is 1-200 letters, digits or . _ : @ + -, and not . or ..",
    ),
    (
        {"name": "tests.jobs.add", "job_id": "a b"},
        "invalid_job_id",
        "a job id is 1-200 letters, digits or . _ : @ + -, and not . or ..",
    ),
    (
        {"name": "tests.jobs.add", "defer_by": "soon"},
        "invalid_field",
        "'defer_by' must be a number of seconds >= 0",
    ),
    (
        {"name": "tests.jobs.add", "defer_by": "5"},  # a JSON number, as the OpenAPI document says
        "invalid_field",
        "'defer_by' must be a number of seconds >= 0",
    ),
    (
        {"name": "tests.jobs.add", "defer_by": -1},
        "invalid_field",
        "'defer_by' must be a number of seconds >= 0",
    ),
    (
        {"name": "tests.jobs.add", "defer_by": True},
        "invalid_field",
        "'defer_by' must be a number of seconds >= 0",
    ),
    (
        {"name": "tests.jobs.add", "defer_by": [1]},
        "invalid_field",
        "'defer_by' must be a number of seconds >= 0",
    ),
    (
        {"name": "tests.jobs.add", "defer_by": "nan"},
        "invalid_field",
        "'defer_by' must be a number of seconds >= 0",
    ),
    (
        {"name": "tests.jobs.add", "defer_by": MAX_DEFER_BY * 2},
        "invalid_field",
        f"'defer_by' must be at most {MAX_DEFER_BY:g} seconds",
    ),
    (  # a JSON integer too large for a float
        {"name": "tests.jobs.add", "defer_by": 10**400},
        "invalid_field",
        f"'defer_by' must be at most {MAX_DEFER_BY:g} seconds",
    ),
    (
        {"name": "tests.jobs.add", "defer_by": -(10**400)},
        "invalid_field",
        "'defer_by' must be a number of seconds >= 0",
    ),
    (
        {"name": "tests.jobs.add", "queue": "django-arq:workers:q"},
        "invalid_field",
        "'queue' names one of django-arq's own Redis keys ('django-arq:workers:q'), not a queue",
    ),
]


@pytest.mark.parametrize(
    ("data", "code", "detail"), ENQUEUE_REFUSALS, ids=[d for _, _, d in ENQUEUE_REFUSALS]
)
def test_each_bad_enqueue_body_is_refused_with_its_sentence(
    data: dict[str, Any], code: str, detail: str
) -> None:
    assert refusal(parse_enqueue, data) == (400, code, detail)


def test_a_body_with_every_field_at_its_limit_is_accepted() -> None:
    request = parse_enqueue(
        {
            "name": "tests.jobs.add",
            "args": [1],
            "kwargs": {"k": 2},
            "queue": "q" * NAME_MAX_LENGTH,
            "alias": "default",
            "job_id": "a" * 200,
            "defer_by": MAX_DEFER_BY,
        }
    )
    spec = request.spec
    assert request.alias == "default"
    assert (spec.name, spec.args, spec.kwargs, spec.queue_name) == (
        "tests.jobs.add",
        (1,),
        {"k": 2},
        "q" * 255,
    )
    assert (spec.job_id, spec.defer_by) == ("a" * 200, MAX_DEFER_BY)


def test_defaults_of_an_enqueue_body() -> None:
    request = parse_enqueue({"name": "tests.jobs.add", "defer_by": 0, "alias": None})
    spec = request.spec
    assert request.alias == "default"
    assert (spec.args, spec.kwargs, spec.queue_name, spec.job_id, spec.defer_by) == ((), {}, None, None, 0.0)
    assert type(spec.defer_by) is float
    assert parse_enqueue({"name": "tests.jobs.add"}).spec.defer_by is None


def test_a_body_of_exactly_the_limit_is_read_and_one_byte_more_is_413(settings: Any) -> None:
    settings.ARQ_API_MAX_BODY_SIZE = 40
    exact = json.dumps({"name": "x" * 28}).encode()
    assert len(exact) == 40
    assert read_json(body(exact)) == {"name": "x" * 28}
    over = json.dumps({"name": "x" * 29}).encode()
    detail = "the request body is larger than 40 bytes"
    assert refusal(read_json, body(over)) == (413, "body_too_large", detail)


def test_a_declared_length_over_the_limit_is_413_before_reading(settings: Any) -> None:
    settings.ARQ_API_MAX_BODY_SIZE = 10
    request = body(b"{}", CONTENT_LENGTH="11")
    assert refusal(read_json, request) == (413, "body_too_large", "the request body is larger than 10 bytes")
    assert read_json(body(b"{}", CONTENT_LENGTH="2")) == {}


def test_a_body_without_a_length_is_still_bounded(settings: Any) -> None:
    settings.ARQ_API_MAX_BODY_SIZE = 10
    chunked = body(b'{"a": "0123456789"}')
    chunked.META.pop("CONTENT_LENGTH", None)
    chunked._stream = stream = io.BytesIO(b'{"a": "' + b"x" * 1000 + b'"}')
    assert refusal(read_json, chunked) == (413, "body_too_large", "the request body is larger than 10 bytes")
    assert stream.tell() == 11  # read no further than one byte past the limit
    unreadable = body(b'{"a": "0123456789"}', CONTENT_LENGTH="nonsense")  # Django then reads nothing
    assert refusal(read_json, unreadable) == (400, "invalid_json", "the body is not valid JSON: it is empty")


def test_with_a_limit_of_zero_only_an_empty_body_gets_past_the_size_check(settings: Any) -> None:
    settings.ARQ_API_MAX_BODY_SIZE = 0
    empty = "the body is not valid JSON: it is empty"
    for length in (None, "nonsense", "0"):
        request = body(b"")
        request.META.pop("CONTENT_LENGTH", None)
        if length is not None:
            request.META["CONTENT_LENGTH"] = length
        assert refusal(read_json, request) == (400, "invalid_json", empty)
    assert refusal(read_json, body(b"{}"))[:2] == (413, "body_too_large")


def test_the_default_body_limit() -> None:
    assert DEFAULT_MAX_BODY_SIZE == 256 * 1024
    exact = b'{"a": "' + b"x" * (DEFAULT_MAX_BODY_SIZE - 9) + b'"}'
    assert len(exact) == DEFAULT_MAX_BODY_SIZE
    assert read_json(body(exact)) == {"a": "x" * (DEFAULT_MAX_BODY_SIZE - 9)}
    assert refusal(read_json, body(exact + b" "))[:2] == (413, "body_too_large")


@pytest.mark.parametrize(
    ("data", "content_type", "expected"),
    [
        (b"", "application/json", (400, "invalid_json", "the body is not valid JSON: it is empty")),
        (
            b"{}",
            "text/plain",
            (415, "unsupported_media_type", "send the body as Content-Type: application/json"),
        ),
        (b"[1]", "application/json", (400, "invalid_body", "the body must be a JSON object")),
        (b"[" * 100_000, "application/json", (400, "invalid_json", TOO_DEEP)),
        (b'{"a": ' * 257 + b"1" + b"}" * 257, "application/json", (400, "invalid_json", TOO_DEEP)),
        (
            b'{"name": "a", "args": [], "name": "b"}',
            "application/json",
            (400, "invalid_json", "the body is not valid JSON: the key 'name' appears twice in one object"),
        ),
        (
            b'{"kwargs": {"k": 1, "k": 2}}',
            "application/json",
            (400, "invalid_json", "the body is not valid JSON: the key 'k' appears twice in one object"),
        ),
    ],
    ids=["empty", "not json", "array", "deep", "deep parseable", "key twice", "nested key twice"],
)
def test_each_bad_body_is_refused_with_its_sentence(
    data: bytes, content_type: str, expected: tuple[int, str, str]
) -> None:
    assert refusal(read_json, body(data, content_type)) == expected


def test_nesting_up_to_the_limit_is_accepted_and_one_more_level_refused() -> None:
    """The body is level 1: its deepest array may be MAX_JSON_DEPTH levels down, whatever holds it."""
    deepest: Any = 1
    for level in range(MAX_JSON_DEPTH - 1):
        deepest = [deepest] if level % 2 else {"k": deepest}
    data = {"args": [0, deepest]}  # 1 + 1 + (MAX_JSON_DEPTH - 1) levels: one too many
    assert refusal(read_json, body(json.dumps(data).encode()))[:2] == (400, "invalid_json")
    assert read_json(body(json.dumps({"args": deepest}).encode())) == {"args": deepest}
    assert read_json(body(json.dumps({"k": 1, "K": 2, "l": {"k": 3}}).encode())) == {
        "k": 1,
        "K": 2,
        "l": {"k": 3},
    }


def test_malformed_json_names_the_parser_error() -> None:
    status, code, detail = refusal(read_json, body(b'{"a": }'))
    assert (status, code) == (400, "invalid_json")
    assert detail.startswith("the body is not valid JSON: Expecting value: line 1 column 7")


def query(job_id: str = "abc", **params: str) -> Any:
    return parse_job_query(RequestFactory().get(f"/arq/jobs/{job_id}/", params), job_id)


def test_a_job_query_and_its_defaults() -> None:
    found = query()
    assert (found.job_id, found.alias, found.queue_name, found.wait, found.timeout) == (
        "abc",
        "default",
        None,
        0.0,
        None,
    )
    assert type(found.wait) is float
    found = query(alias="default", queue="q", wait="1.5", timeout="2")
    assert (found.alias, found.queue_name, found.wait, found.timeout) == ("default", "q", 1.5, 2.0)
    empty = query(alias="", queue="")
    assert (empty.alias, empty.queue_name) == ("default", None)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"x": "1"}, (400, "unknown_field", "unknown query parameters ['x']")),
        (
            {"alias": "a\x01"},
            (400, "invalid_field", "'alias' must not contain control characters or lone surrogates"),
        ),
        ({"queue": "q" * 256}, (400, "invalid_field", "'queue' must be at most 255 characters long")),
        ({"alias": "nope"}, (400, "unknown_alias", "there is no queue alias 'nope'")),
        (
            {"queue": "arq:abort"},
            (400, "invalid_field", "'queue' names one of arq's own Redis keys ('arq:abort'), not a queue"),
        ),
        ({"wait": "-1"}, (400, "invalid_field", "'wait' must be a number of seconds >= 0")),
        ({"wait": "inf"}, (400, "invalid_field", "'wait' must be a number of seconds >= 0")),
        ({"wait": "31"}, (400, "invalid_field", "'wait' must be at most 30 seconds")),
        ({"timeout": "abc"}, (400, "invalid_field", "'timeout' must be a number of seconds >= 0")),
        # what float() reads but JSON does not write a number as
        *(
            ({"wait": text}, (400, "invalid_field", "'wait' must be a number of seconds >= 0"))
            for text in (" 5", "5 ", "1_0", "+1", "-0", ".5", "5.", "0x1", "nan", "Infinity", "05", "", "٣")
        ),
        ({"timeout": "30.5"}, (400, "invalid_field", "'timeout' must be at most 30 seconds")),
    ],
)
def test_each_bad_job_query_is_refused_with_its_sentence(
    params: dict[str, str], expected: tuple[int, str, str]
) -> None:
    assert refusal(query, "abc", **params) == expected


@pytest.mark.parametrize(
    ("text", "seconds"), [("0", 0.0), ("7", 7.0), ("0.25", 0.25), ("1e1", 10.0), ("2.5E+0", 2.5)]
)
def test_wait_and_timeout_are_read_as_json_numbers(text: str, seconds: float) -> None:
    found = query(wait=text, timeout=text)
    assert (found.wait, found.timeout) == (seconds, seconds)


def test_wait_and_timeout_of_exactly_the_maximum_are_accepted() -> None:
    assert max_wait() == DEFAULT_MAX_WAIT == 30.0
    found = query(wait="30", timeout="30")
    assert (found.wait, found.timeout) == (30.0, 30.0)
    with override_settings(ARQ_API_MAX_WAIT=5):
        assert max_wait() == 5.0
        assert refusal(query, "abc", wait="5.5")[2] == "'wait' must be at most 5 seconds"


@pytest.mark.parametrize("job_id", [".", "..", "a/b", "x" * 201])
def test_a_bad_job_id_in_the_url_is_refused(job_id: str) -> None:
    detail = "a job id is 1-200 letters, digits or . _ : @ + -, and not . or .."
    assert refusal(query, job_id) == (400, "invalid_job_id", detail)
