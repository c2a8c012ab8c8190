"""Label values: printable, bounded, and one value per name (an escape never mistaken for the text)."""

from __future__ import annotations

import re

from hypothesis import example, given
from hypothesis import strategies as st

from django_arq.metrics.labels import MAX_LENGTH, label

#: The escapes ``label`` writes, each read back as the one character it stands for.
ESCAPE = re.compile(r"\\(?:x([0-9a-f]{2})|u([0-9a-f]{4})|U([0-9a-f]{8})|([\\tnr]))")
NAMED = {"\\": "\\", "t": "\t", "n": "\n", "r": "\r"}

#: Names short enough to be kept whole (the longest escape is ten characters), made of characters
#: that look like escapes once written out: backslashes, hex digits, and the characters escaped.
names = st.text(
    st.sampled_from(["\\", "x", "u", "U", "0", "a", "\x00", "\n", "\t", "\ud800", "\x85", "\U000e0001", "é"])
    | st.characters(),
    max_size=MAX_LENGTH // 10,
)


def unescape(value: str) -> str:
    def one(match: re.Match[str]) -> str:
        hex_digits = match.group(1) or match.group(2) or match.group(3)
        return chr(int(hex_digits, 16)) if hex_digits else NAMED[match.group(4)]

    return ESCAPE.sub(one, value)


@given(names)
@example("p3\x00q")
@example("p3\\x00q")
@example("a\\")
def test_a_label_reads_back_as_its_name(name: str) -> None:
    value = label(name)
    assert value.isprintable() and len(value) <= MAX_LENGTH
    assert unescape(value) == name  # so two names never share a label


@given(names, names)
@example("p3\x00q", "p3\\x00q")
@example("\\\\", "\\")
def test_distinct_names_have_distinct_labels(one: str, other: str) -> None:
    assert (label(one) == label(other)) == (one == other)


def test_a_backslash_is_doubled_and_plain_text_kept() -> None:
    assert label("p3\\x00q") == "p3\\\\x00q"
    assert label("p3\x00q") == "p3\\x00q"
    assert label("default") == "default"
