"""queues/serializers.py: the JSON serializer's exact output (compact, tags as documented), sets,
what it refuses, and escapes that are not its own coming back as they are."""

from __future__ import annotations

import json

import pytest

from django_arq.queues.serializers import SerializedError, json_dumps, json_loads


def test_an_exception_that_crossed_once_is_written_again_as_the_same_tag() -> None:
    error = SerializedError("app.errors.Boom", "it broke")
    assert error.args == ("it broke",) and str(error) == "it broke"
    assert (
        json_dumps({"e": error}) == b'{"e":{"__exception__":{"type":"app.errors.Boom","message":"it broke"}}}'
    )


def test_a_set_of_mixed_values_is_sent_as_a_list_in_a_stable_order() -> None:
    assert json_loads(json_dumps({"s": {1, "a"}, "f": frozenset({3, 2})})) == {"s": ["a", 1], "f": [2, 3]}


def test_a_value_json_cannot_hold_is_named_in_the_error() -> None:
    with pytest.raises(TypeError, match=r"^object values cannot be sent as JSON$"):
        json_dumps({"x": object()})


@pytest.mark.parametrize(
    "raw",
    [
        b'{"__dict__":{}}',  # not a list of pairs
        b'{"__dict__":[["k",1,2]]}',  # a pair of three
        b'{"__dict__":[[1,2]]}',  # a key that is not text
    ],
)
def test_an_escape_json_dumps_did_not_write_is_read_as_it_is(raw: bytes) -> None:
    assert json_loads(raw) == json.loads(raw)


def test_a_payload_without_tags_is_written_compact() -> None:
    assert json_dumps({"a": [1, 2], "b": {"c": None}}) == b'{"a":[1,2],"b":{"c":null}}'


def test_a_payload_with_a_tag_shaped_dict_is_written_escaped_and_compact() -> None:
    assert (
        json_dumps({"a": {"__date__": "x"}, "b": [1, 2]})
        == b'{"a":{"__dict__":[["__date__","x"]]},"b":[1,2]}'
    )
