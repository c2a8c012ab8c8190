"""``function_options``: each refusal's sentence (the kind of the value it names, the entry it is
about), the largest values each option takes, and every problem of an entry reported at once."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from django_arq.function_options import MAX_MAX_TRIES, MAX_SECONDS, entry_problems, function_options

JOB = "tests.jobs.add"
WHAT = f"WORKER['FUNCTIONS'] entry {JOB!r}"


def test_a_function_path_that_is_not_text_is_refused() -> None:
    assert entry_problems({"FUNCTION": 5}) == [
        "a WORKER['FUNCTIONS'] dict needs a FUNCTION dotted path: {'FUNCTION': 5}"
    ]


def test_the_largest_values_are_accepted() -> None:
    entry = {"FUNCTION": JOB, "MAX_TRIES": MAX_MAX_TRIES, "TIMEOUT": MAX_SECONDS, "BACKOFF": {"JITTER": 1}}
    assert entry_problems(entry) == []
    options = function_options(entry)
    assert options.max_tries == MAX_MAX_TRIES and options.timeout == MAX_SECONDS
    assert options.retry.backoff.jitter == 1.0 and type(options.retry.backoff.jitter) is float


def test_refusals_name_the_entry_and_the_kind_of_value_given() -> None:
    assert entry_problems({"FUNCTION": JOB, "BACKOFF": 5}) == [
        f"{WHAT}: BACKOFF must be a dict with keys ['BASE', 'MAX', 'JITTER'], not int"
    ]
    assert entry_problems({"FUNCTION": JOB, "RETRY_ON": "ValueError"}) == [
        f"{WHAT}: RETRY_ON must be a list of dotted paths, not str"
    ]
    assert entry_problems({"FUNCTION": JOB, "RETRY_ON": [5]}) == [
        f"{WHAT}: RETRY_ON entries must be dotted paths of exception classes, not int"
    ]
    (missing,) = entry_problems({"FUNCTION": JOB, "RETRY_ON": ["tests.no_such_module.Error"]})
    assert missing.startswith(
        f"{WHAT}: RETRY_ON entry 'tests.no_such_module.Error' cannot be imported: ModuleNotFoundError: "
    )


def test_every_problem_of_an_entry_is_reported_and_raised_at_once() -> None:
    entry = {"FUNCTION": JOB, "MAX_TRIES": 0, "BACKOFF": {"JITTER": 2}}
    problems = [
        f"{WHAT}: MAX_TRIES must be an integer from 1 to {MAX_MAX_TRIES}, not 0",
        f"{WHAT}: BACKOFF['JITTER'] must be a fraction from 0 to 1 or \"full\", not 2",
    ]
    assert entry_problems(entry) == problems
    with pytest.raises(ImproperlyConfigured) as raised:
        function_options(entry)
    assert str(raised.value) == "; ".join(problems)
