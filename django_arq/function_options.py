"""One ``WORKER["FUNCTIONS"]`` entry read and validated: a dotted path, or a dict of options.

A dict entry is ``{"FUNCTION": path, "MAX_TRIES", "TIMEOUT", "KEEP_RESULT", "RETRY_ON",
"BACKOFF": {"BASE", "MAX", "JITTER"}}``, every key but FUNCTION optional. ``entry_problems``
says everything wrong with one (as ``manage.py check`` reports it), ``function_options`` gives
its ``FunctionOptions``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from .queues.retry_policy import FULL_JITTER, Backoff, RetryPolicy

__all__ = [
    "BACKOFF_KEYS",
    "FUNCTION_KEYS",
    "FunctionOptions",
    "entry_problems",
    "function_options",
    "seconds_problem",
]

FUNCTION_KEYS = ("FUNCTION", "MAX_TRIES", "TIMEOUT", "KEEP_RESULT", "RETRY_ON", "BACKOFF")
BACKOFF_KEYS = ("BASE", "MAX", "JITTER")
#: The largest number of seconds an option takes (a year): larger is a mistake.
MAX_SECONDS = 366 * 24 * 3600
#: The largest MAX_TRIES.
MAX_MAX_TRIES = 10_000


@dataclass(frozen=True)
class FunctionOptions:
    """A FUNCTIONS entry: the function's path, arq's per-function options (None: the worker's), its
    retry policy."""

    path: str
    max_tries: int | None = None
    timeout: float | None = None
    keep_result: float | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)


def seconds_problem(value: Any, what: str, *, zero: bool) -> str | None:
    """Why ``value`` is not a number of seconds (> 0, or >= 0 if ``zero``), or None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"{what} must be a number of seconds, not {type(value).__name__}"
    # An int of any size compares with the bound exactly; only a float can be infinite or NaN
    # (math.isfinite would raise on an int too large for a float, repr on one of too many digits).
    if (isinstance(value, float) and not math.isfinite(value)) or value > MAX_SECONDS:
        shown = f"an int of {value.bit_length()} bits" if isinstance(value, int) else repr(value)
        return f"{what} must be a finite number of seconds up to {MAX_SECONDS}, not {shown}"
    if value < 0 or (value == 0 and not zero):
        return f"{what} must be {'>= 0' if zero else '> 0'}, not {value!r}"
    return None


def _exception_class(path: Any, what: str) -> tuple[type[Exception] | None, str | None]:
    """The exception class at dotted ``path``, or why it is not one."""
    if not isinstance(path, str):
        return None, f"{what} entries must be dotted paths of exception classes, not {type(path).__name__}"
    try:
        value = import_string(path)
    except Exception as exc:  # a module that raises on import is as broken as a missing one
        return None, f"{what} entry {path!r} cannot be imported: {type(exc).__name__}: {exc}"
    if not (isinstance(value, type) and issubclass(value, Exception)):
        return None, f"{what} entry {path!r} is not an exception class (a subclass of Exception)"
    return value, None


def _backoff_problems(backoff: Any, what: str) -> list[str]:
    if not isinstance(backoff, Mapping):
        return [f"{what} must be a dict with keys {list(BACKOFF_KEYS)}, not {type(backoff).__name__}"]
    problems = []
    if unknown := set(backoff) - set(BACKOFF_KEYS):
        problems.append(f"{what} has unknown keys {sorted(map(str, unknown))}; valid: {list(BACKOFF_KEYS)}")
    for key in ("BASE", "MAX"):
        if key in backoff and (p := seconds_problem(backoff[key], f"{what}[{key!r}]", zero=True)):
            problems.append(p)
    jitter = backoff.get("JITTER", 0)
    if jitter != FULL_JITTER and (
        isinstance(jitter, bool) or not isinstance(jitter, int | float) or not 0 <= jitter <= 1
    ):
        problems.append(f"{what}['JITTER'] must be a fraction from 0 to 1 or \"full\", not {jitter!r}")
    return problems


def entry_problems(entry: Any) -> list[str]:
    """Everything wrong with one FUNCTIONS entry, as sentences (paths are imported only in RETRY_ON:
    the function itself is imported by the checks and the worker)."""
    if isinstance(entry, str):
        return []
    if not isinstance(entry, Mapping):
        return [f"a WORKER['FUNCTIONS'] entry must be a dotted path or a dict, not {type(entry).__name__}"]
    path = entry.get("FUNCTION")
    if not isinstance(path, str) or not path:
        return [f"a WORKER['FUNCTIONS'] dict needs a FUNCTION dotted path: {entry!r}"]
    what = f"WORKER['FUNCTIONS'] entry {path!r}"
    problems = []
    if unknown := set(entry) - set(FUNCTION_KEYS):
        problems.append(f"{what} has unknown keys {sorted(map(str, unknown))}; valid: {list(FUNCTION_KEYS)}")
    tries = entry.get("MAX_TRIES", 1)
    if isinstance(tries, bool) or not isinstance(tries, int) or not 1 <= tries <= MAX_MAX_TRIES:
        problems.append(f"{what}: MAX_TRIES must be an integer from 1 to {MAX_MAX_TRIES}, not {tries!r}")
    for key, zero in (("TIMEOUT", False), ("KEEP_RESULT", True)):
        if key in entry and (p := seconds_problem(entry[key], f"{what}: {key}", zero=zero)):
            problems.append(p)
    retry_on = entry.get("RETRY_ON", [])
    if not isinstance(retry_on, list | tuple):
        problems.append(f"{what}: RETRY_ON must be a list of dotted paths, not {type(retry_on).__name__}")
    else:
        problems += [p for path in retry_on if (p := _exception_class(path, f"{what}: RETRY_ON")[1])]
    if "BACKOFF" in entry:
        problems += _backoff_problems(entry["BACKOFF"], f"{what}: BACKOFF")
    return problems


def function_options(entry: Any) -> FunctionOptions:
    """The options of a valid FUNCTIONS entry; ``ImproperlyConfigured`` naming every problem if not."""
    if problems := entry_problems(entry):
        raise ImproperlyConfigured("; ".join(problems))
    if isinstance(entry, str):
        return FunctionOptions(entry)
    backoff = entry.get("BACKOFF", {})
    defaults = Backoff()
    jitter = backoff.get("JITTER", defaults.jitter)
    policy = RetryPolicy(
        tuple(_exception_class(path, "")[0] for path in entry.get("RETRY_ON", ())),  # type: ignore[misc]
        Backoff(
            float(backoff.get("BASE", defaults.base)),
            float(backoff.get("MAX", defaults.max)),
            jitter if jitter == FULL_JITTER else float(jitter),
        ),
    )
    timeout, keep = entry.get("TIMEOUT"), entry.get("KEEP_RESULT")
    return FunctionOptions(
        entry["FUNCTION"],
        entry.get("MAX_TRIES"),
        None if timeout is None else float(timeout),
        None if keep is None else float(keep),
        policy,
    )
