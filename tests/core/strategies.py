"""Hypothesis strategies for what callers send: arguments, job ids, queue names, delays."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from django_arq.queues.serializers import TAGS

#: Any text, lone surrogates and NUL included.
any_text = st.text(st.one_of(st.characters(), st.characters(categories=["Cs"]), st.just("\x00")), max_size=12)
#: Keys that look like the JSON serializer's tags.
tag_keys = st.sampled_from(sorted(TAGS))

numbers = st.one_of(
    st.integers(),
    st.integers(min_value=-(10**5000), max_value=10**5000),  # beyond JSON's digit limit too
    st.floats(allow_nan=False),  # inf, -inf, huge and tiny; NaN is never equal to itself
    st.sampled_from([1e308, 5e-324, -0.0, 2**63, -(2**63) - 1]),
)
json_scalars = st.one_of(st.none(), st.booleans(), numbers, any_text)


def tag_shaped(values: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """One-key dicts shaped like a tag of the JSON serializer (``{"__bytes__": ...}``, ...)."""
    return st.builds(lambda k, v: {k: v}, tag_keys, values)


def _json_containers(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(any_text, tag_keys), children, max_size=4),
        tag_shaped(children),
    )


#: Values a JSON client can send (arrays, string-keyed objects, tag-shaped objects).
json_values = st.recursive(json_scalars, _json_containers, max_leaves=12)


def deep(leaf: Any = 1) -> st.SearchStrategy[Any]:
    """Lists nested deeply, and far beyond the serializers' recursion limits."""
    return st.sampled_from([50, 400, 5000]).map(lambda n: _nest(n, leaf))


def _nest(depth: int, leaf: Any) -> Any:
    value = leaf
    for _ in range(depth):
        value = [value]
    return value


#: Values both serializers keep exactly (the JSON one with its tags): datetimes, decimals, ...
typed_scalars = st.one_of(
    # The JSON serializer keeps a datetime's UTC offset, not its zone name, and an aware datetime in
    # a zone's repeated hour never equals one with a fixed offset: offsets, not zones, round-trip.
    st.datetimes(
        timezones=st.one_of(
            st.none(),
            st.builds(
                dt.timezone,
                st.timedeltas(min_value=dt.timedelta(hours=-23), max_value=dt.timedelta(hours=23)),
            ),
        )
    ),
    st.dates(),
    st.decimals(allow_nan=False),
    st.uuids(),
    st.binary(max_size=12),
)
json_args = st.recursive(st.one_of(json_scalars, typed_scalars), _json_containers, max_leaves=12)


def _pickle_containers(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    hashable = st.one_of(st.integers(), any_text, st.booleans(), st.none(), st.tuples(st.integers()))
    return st.one_of(
        _json_containers(children),
        st.tuples(children, children),
        st.dictionaries(hashable, children, max_size=3),
        st.frozensets(hashable, max_size=3),
    )


#: Values the pickle serializer keeps exactly.
pickle_args = st.recursive(st.one_of(json_scalars, typed_scalars), _pickle_containers, max_leaves=12)

#: Job ids: valid ones and anything else a caller might pass.
job_ids = st.one_of(st.none(), st.uuids().map(lambda u: u.hex), any_text)
#: Queue names: None (the default), plain names, any text, and arq's own keys.
queue_names = st.one_of(
    st.none(),
    st.from_regex(r"[a-z]{1,10}", fullmatch=True),
    any_text,
    st.sampled_from(
        ["arq:abort", "arq:job:x", "arq:result:x", "arq:in-progress:x", "arq:retry:x", "q:health-check"]
    ),
)
#: Delays (``_defer_by``, ``_expires``): in range or not, of any type.
delays = st.one_of(
    st.none(),
    st.floats(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.sampled_from([0, 1e306, 1e300, float("nan"), float("inf"), -1, True]),
    st.timedeltas(min_value=dt.timedelta(days=-10), max_value=dt.timedelta(days=10**6)),
    st.decimals(allow_nan=True).map(lambda d: d if d.is_finite() else Decimal(1)),
)


#: Keyword names ``enqueue`` keeps for itself.
ENQUEUE_NAMES = frozenset(
    ["self", "task_name", "_queue_name", "_job_id", "_defer_until", "_defer_by", "_expires"]
)


def kwargs_of(
    values: st.SearchStrategy[Any], reserved: frozenset[str] = frozenset()
) -> st.SearchStrategy[dict[str, Any]]:
    """Keyword arguments: any text keys (tag-shaped too), except ``reserved`` names."""
    return st.dictionaries(
        st.one_of(any_text, tag_keys).filter(lambda k: k not in reserved), values, max_size=4
    )
