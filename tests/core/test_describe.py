"""queues/describe.py: the text of values jobs and callers give, which never raises."""

from __future__ import annotations

import collections

import pytest

from django_arq.queues.describe import class_path, safe_repr, safe_str
from django_arq.queues.serializers import SerializedError

SERIALIZERS = "django_arq.queues.serializers"


class Unprintable:
    class Inner(Exception):
        pass

    def __str__(self) -> str:
        raise SystemExit("from __str__")

    def __repr__(self) -> str:
        raise ValueError("from __repr__")


@pytest.mark.parametrize(
    ("kind", "full", "short"),
    [
        (ValueError, "builtins.ValueError", "ValueError"),
        (collections.OrderedDict, "collections.OrderedDict", "collections.OrderedDict"),
        (
            SerializedError,
            "django_arq.queues.serializers.SerializedError",
            "django_arq.queues.serializers.SerializedError",
        ),
        (Unprintable.Inner, f"{__name__}.Unprintable.Inner", f"{__name__}.Unprintable.Inner"),
    ],
)
def test_class_path_is_module_and_qualified_name_and_can_leave_out_builtins(
    kind: type, full: str, short: str
) -> None:
    assert class_path(kind) == full
    assert class_path(kind, builtins=False) == short


def test_str_and_repr_that_raise_are_described_by_the_class_and_the_exception() -> None:
    assert safe_str(Unprintable()) == "<Unprintable object; str() raised SystemExit>"
    assert safe_repr(Unprintable()) == "<Unprintable object; repr() raised ValueError>"
    assert safe_str("ok") == "ok" and safe_repr("ok") == "'ok'"


def test_keyboard_interrupt_from_str_still_propagates() -> None:
    class Interrupting:
        def __str__(self) -> str:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        safe_str(Interrupting())
