"""The commands' number of seconds: NaN, infinities and negatives are usage errors, never a wait forever."""

from __future__ import annotations

import io
import math
import os
import subprocess
import sys
from argparse import ArgumentTypeError
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import InterfaceError, OperationalError
from hypothesis import given
from hypothesis import strategies as st

from django_arq.management.cli import days, one_line, positive_int, seconds
from django_arq.queues.jobs import MAX_DELAY

NOT_SECONDS = ["nan", "NaN", "-nan", "inf", "Infinity", "-inf", "1e400", "-1", "-0.5", "ten", ""]

#: Every command taking seconds, with the arguments it needs besides them.
COMMANDS = {
    "arq_result --timeout": ["arq_result", "0123abcd", "--wait", "--timeout"],
    "arq_enqueue --timeout": ["arq_enqueue", "tests.jobs.add", "--wait", "--timeout"],
    "arq_enqueue --defer-by": ["arq_enqueue", "tests.jobs.add", "--defer-by"],
    "arq_abort --timeout": ["arq_abort", "0123abcd", "--timeout"],
}


@pytest.mark.parametrize("text", NOT_SECONDS)
def test_what_is_not_a_finite_number_of_seconds_is_refused(text: str) -> None:
    with pytest.raises(ArgumentTypeError, match="seconds"):
        seconds(text)


@given(st.floats(min_value=0, max_value=MAX_DELAY.total_seconds()))
def test_every_finite_delay_up_to_the_limit_is_accepted(number: float) -> None:
    assert seconds(repr(number)) == number


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_a_number_is_accepted_exactly_when_it_is_a_delay_in_range(number: float) -> None:
    in_range = math.isfinite(number) and 0 <= number <= MAX_DELAY.total_seconds()
    if in_range:
        assert seconds(repr(number)) == number
    else:
        with pytest.raises(ArgumentTypeError):
            seconds(repr(number))


@pytest.mark.parametrize("command", COMMANDS.values(), ids=COMMANDS)
@pytest.mark.parametrize("text", ["nan", "inf"])
def test_every_command_refuses_nan_and_inf_before_doing_anything(command: list[str], text: str) -> None:
    with pytest.raises(CommandError, match=r"argument --(timeout|defer-by): .*finite number of seconds"):
        call_command(*command, text, stdout=io.StringIO(), stderr=io.StringIO())


def test_from_the_command_line_timeout_nan_is_a_usage_error_of_one_line() -> None:
    """Exit status 2 and argparse's message, not a wait that never ends (hence the deadline)."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    done = subprocess.run(
        [sys.executable, "-m", "django", "arq_result", "0123abcd", "--wait", "--timeout", "nan"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert "argument --timeout: 'nan' must be a finite number of seconds" in done.stderr.splitlines()[-1]
    assert done.stdout == ""


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("ten", "'ten' is not a number of days"),
        ("0", "'0' must be a number of days > 0"),
        ("-1", "'-1' must be a number of days > 0"),
        ("nan", "'nan' must be a number of days > 0"),
        ("1e9", "'1e9' days reaches back before year 1"),
    ],
)
def test_days_refusals_in_words(text: str, problem: str) -> None:
    with pytest.raises(ArgumentTypeError) as info:
        days(text)
    assert str(info.value) == problem


@pytest.mark.parametrize(("text", "number"), [("0.5", 0.5), ("1", 1.0), ("30", 30.0), ("1e5", 1e5)])
def test_days_accepted(text: str, number: float) -> None:
    assert days(text) == number


@pytest.mark.parametrize(
    ("text", "problem"),
    [("x", "'x' is not a whole number"), ("1.5", "'1.5' is not a whole number"),
     ("0", "'0' must be from 1 to 2147483647"), ("-3", "'-3' must be from 1 to 2147483647"),
     ("2147483648", "'2147483648' must be from 1 to 2147483647")],
)  # fmt: skip
def test_positive_int_refusals_in_words(text: str, problem: str) -> None:
    with pytest.raises(ArgumentTypeError) as info:
        positive_int(text)
    assert str(info.value) == problem


@pytest.mark.parametrize(("text", "number"), [("1", 1), ("2", 2), ("1000", 1000)])
def test_positive_int_accepted(text: str, number: int) -> None:
    assert positive_int(text) == number


@pytest.mark.parametrize(
    "error", [OperationalError("connection refused\nIs the server running?"), InterfaceError("closed")]
)
def test_the_database_unreachable_is_one_line_and_exit_5(
    monkeypatch: pytest.MonkeyPatch, error: Exception
) -> None:
    """What psycopg or sqlite3 raise when the database is down (a traceback and exit 1 before)."""
    from django_arq.management.commands.arq_prune import Command

    def down(self: Any, *args: Any, **options: Any) -> None:
        raise error

    monkeypatch.setattr(Command, "handle", down)
    with pytest.raises(CommandError) as info:
        call_command("arq_prune", "--older-than", "30")
    assert info.value.returncode == 5
    assert str(info.value) == f"the database failed: {one_line(str(error))}"
    assert "\n" not in str(info.value)
