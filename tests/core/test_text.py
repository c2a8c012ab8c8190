"""``queues.text``: the one rule for text that the database, Redis and a terminal all take."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from django_arq.queues.text import ELLIPSIS, REPLACEMENT, storable_text, unstorable

#: Any text Python can hold, rich in what needs replacing: lone surrogates, NUL, other controls.
ANY_TEXT = st.text(st.one_of(st.characters(), st.characters(categories=["Cs", "Cc"]), st.just("\x00")))


@given(ANY_TEXT)
def test_storable_text_is_utf8_of_the_same_length_changing_only_what_is_unstorable(text: str) -> None:
    stored = storable_text(text)
    stored.encode("utf-8")  # raises for a lone surrogate
    assert "\x00" not in stored and not unstorable(stored)
    assert len(stored) == len(text)
    assert all(s in (t, REPLACEMENT) for s, t in zip(stored, text, strict=True))
    assert unstorable(text) == (stored != text)
    assert storable_text(stored) == stored


@given(ANY_TEXT, st.integers(1, 40))
def test_cut_text_fits_and_ends_with_an_ellipsis(text: str, max_length: int) -> None:
    stored = storable_text(text, max_length)
    assert len(stored) <= max_length
    if len(text) > max_length:
        assert stored.endswith(ELLIPSIS) and stored[:-1] == storable_text(text)[: max_length - 1]
    else:
        assert stored == storable_text(text)


def test_the_characters_it_replaces() -> None:
    assert storable_text("a\x00b\ud800c\udfff\U0001f600\ufffd") == "a\ufffdb\ufffdc\ufffd\U0001f600\ufffd"
    assert [unstorable(t) for t in ("", "plain", "caf\u00e9", "\x00", "\udc80", "\U0001f600")] == [
        False,
        False,
        False,
        True,
        True,
        False,
    ]
