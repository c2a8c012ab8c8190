"""queues/serializers.py: a serializer chosen by name, and the refusal of a name it does not know."""

from __future__ import annotations

import pytest

from django_arq import MockArqQueue
from django_arq.queues.serializers import SERIALIZERS, get_serializer


@pytest.mark.parametrize("name", ["json", "pickle"])
def test_a_serializer_is_found_by_its_name(name: str) -> None:
    serializer = get_serializer(name)
    assert serializer is SERIALIZERS[name] and serializer.name == name
    assert serializer.loads(serializer.dumps({"args": [1, "a"]})) == {"args": [1, "a"]}


@pytest.mark.parametrize("name", ["json", "pickle"])
def test_a_serializer_says_whether_it_writes_every_dict_key_as_text(name: str) -> None:
    """What the tasks backend and runner read (``text_keys``), said once by the serializer."""
    serializer = get_serializer(name)
    assert serializer.text_keys is (serializer.loads(serializer.dumps({"k": {1: 1}}))["k"] == {"1": 1})


def test_an_unknown_serializer_is_refused_with_the_names_to_choose_from() -> None:
    sentence = r"^unknown SERIALIZER 'yaml'; choose one of \['json', 'pickle'\]$"
    with pytest.raises(ValueError, match=sentence) as refused:
        get_serializer("yaml")
    assert refused.value.__cause__ is None and refused.value.__suppress_context__
    with pytest.raises(ValueError, match=sentence):
        MockArqQueue(serializer="yaml")
