"""write_salvaging on its own: which writes it makes, in which order, what it logs and returns,
and when it gives up on the database rather than on a row."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import pytest
from django.db.utils import IntegrityError, InterfaceError, OperationalError

from django_arq.audit.salvage import is_transient, table_answers, write_salvaging


class Refused(Exception):
    """A row the fake database refuses (not a connection error)."""


class EndlessWrites(BaseException):
    """Raised past any number of writes a batch can need: not caught as a refusal."""


class DriverOperationalError(Exception):
    """A driver's own class named as PEP 249's, not Django's wrapper."""


DriverOperationalError.__name__ = "OperationalError"


class Database:
    """Records each write; refuses chunks holding a bad item, and safe forms listed as bad too."""

    def __init__(self, bad: set[str] = frozenset(), bad_safe: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        self.bad, self.bad_safe = bad, bad_safe
        self.writes: list[list[str]] = []
        self.stored: list[str] = []
        self.probes = 0

    def write(self, chunk: Sequence[str]) -> None:
        self.writes.append(list(chunk))
        if len(self.writes) > 50:
            raise EndlessWrites(self.writes[-3:])
        for item in chunk:
            original = item.removeprefix("safe:")
            if item in self.bad or (original != item and original in self.bad_safe):
                raise Refused(f"refused\n  {item}")
        self.stored += chunk

    def healthy(self) -> bool:
        self.probes += 1
        return True


def safe(item: str) -> str:
    return f"safe:{item}"


def describe(item: str) -> str:
    return f"<{item}>"


def test_a_batch_the_database_takes_is_written_once_whole() -> None:
    db = Database()
    assert write_salvaging(("a", "b", "c"), db.write, safe, describe, db.healthy) == []
    assert db.writes == [["a", "b", "c"]]
    assert db.probes == 0  # nothing refused: no probe


def test_a_refused_batch_is_split_in_halves_first_half_first(caplog: pytest.LogCaptureFixture) -> None:
    db = Database(bad={"d"})
    with caplog.at_level(logging.ERROR, logger="django_arq.records"):
        assert write_salvaging(list("abcde"), db.write, safe, describe, db.healthy) == []
    assert db.writes == [list("abcde"), ["a", "b"], list("cde"), ["c"], ["d", "e"], ["d"], ["safe:d"], ["e"]]
    assert db.stored == ["a", "b", "c", "safe:d", "e"]
    assert db.probes == 0
    (message,) = caplog.messages
    assert (
        message == "the database refused the job record of <d> (Refused: refused d); wrote it in a safe form"
    )


def test_a_row_refused_even_in_its_safe_form_is_dropped_and_named(caplog: pytest.LogCaptureFixture) -> None:
    db = Database(bad={"b", "c"}, bad_safe={"b"})
    with caplog.at_level(logging.ERROR, logger="django_arq.records"):
        assert write_salvaging(list("abc"), db.write, safe, describe, db.healthy) == ["b"]
    assert db.stored == ["a", "safe:c"]
    assert db.probes == 1
    assert caplog.messages == [
        "the database refused the job record of <c> (Refused: refused c); wrote it in a safe form",
        "dropped the job record of <b>: the database refused it even in a safe form"
        " (Refused: refused safe:b)",
    ]
    assert all(r.levelno == logging.ERROR for r in caplog.records)


def test_rows_refused_while_the_probe_fails_raise_the_last_refusal(caplog: pytest.LogCaptureFixture) -> None:
    db = Database(bad={"a", "b", "c"}, bad_safe={"a", "b", "c"})
    with caplog.at_level(logging.ERROR, logger="django_arq.records"), pytest.raises(Refused) as raised:
        write_salvaging(["a", "b", "c"], db.write, safe, describe, lambda: False)
    assert str(raised.value) == "refused\n  safe:c"
    assert not any("dropped" in m for m in caplog.messages)  # kept for a retry, not dropped


def test_the_probe_is_not_asked_when_nothing_is_dropped() -> None:
    def failing_probe() -> bool:
        raise AssertionError("probed")

    db = Database(bad={"a"})
    assert write_salvaging(["a", "b"], db.write, safe, describe, failing_probe) == []


@pytest.mark.parametrize(
    "transient", [OperationalError("down"), InterfaceError("gone"), DriverOperationalError()]
)
def test_a_connection_error_of_a_chunk_or_a_safe_form_is_raised_at_once(transient: Exception) -> None:
    writes: list[list[str]] = []

    def down(chunk: Sequence[str]) -> None:
        writes.append(list(chunk))
        raise transient

    with pytest.raises(type(transient)):
        write_salvaging(["a", "b"], down, safe, describe, lambda: True)
    assert writes == [["a", "b"]]

    def safe_down(chunk: Sequence[str]) -> None:
        writes.append(list(chunk))
        if chunk[0].startswith("safe:"):
            raise transient
        raise Refused("bad")

    writes.clear()
    with pytest.raises(type(transient)):
        write_salvaging(["a"], safe_down, safe, describe, lambda: True)
    assert writes == [["a"], ["safe:a"]]


def test_an_error_without_a_message_is_named_by_its_class(caplog: pytest.LogCaptureFixture) -> None:
    def refuse(chunk: Sequence[str]) -> None:
        raise Refused()

    with caplog.at_level(logging.ERROR, logger="django_arq.records"):
        write_salvaging(["a"], refuse, safe, describe, lambda: True)
    assert caplog.messages[-1].endswith("even in a safe form (Refused: Refused)")


def test_transient_errors_are_known_by_class_name_through_the_mro() -> None:
    class Subclass(DriverOperationalError):
        pass

    assert is_transient(OperationalError()) and is_transient(InterfaceError())
    assert is_transient(DriverOperationalError()) and is_transient(Subclass())
    assert not is_transient(IntegrityError()) and not is_transient(Refused())


@pytest.mark.django_db
def test_the_probe_answers_for_a_database_with_the_table_only() -> None:
    assert table_answers("default") is True
    assert table_answers("no-such-database") is False
