"""Writing a batch of records so that one bad row never blocks the others.

A batch the database refuses is split in halves, each written on its own, down to single rows. A
row refused on its own is written in its safe form (``rows.safe_row``); if that is refused too,
it is dropped with an ERROR log naming the alias and job id, unless the database fails a probe
as well (then the database is at fault, not the row). Connection-level errors (PEP 249's
``OperationalError`` and ``InterfaceError``: the database is down, restarting, locked) are the
database's: they are raised at once, and the caller keeps the whole batch to retry it later.
Writes repeat safely (inserts skip existing records, updates set the same values again).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TypeVar

__all__ = ["is_transient", "table_answers", "write_salvaging"]

logger = logging.getLogger("django_arq.records")

T = TypeVar("T")

#: PEP 249 exception classes that mean the database, not the data, is the problem.
TRANSIENT = frozenset({"OperationalError", "InterfaceError"})


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` says the database is unavailable (whichever driver raised it, or Django)."""
    return any(cls.__name__ in TRANSIENT for cls in type(exc).__mro__)


def write_salvaging(
    items: Sequence[T],
    write: Callable[[Sequence[T]], None],
    safe: Callable[[T], T],
    describe: Callable[[T], str],
    healthy: Callable[[], bool],
) -> list[T]:
    """``write(items)``, splitting a refused batch to find the rows at fault; the rows dropped.

    Raises the database's error if it is unavailable (see the module's docstring).
    """
    chunks = [list(items)]  # a stack: the first half is written first
    refused: list[tuple[T, Exception]] = []
    while chunks:
        chunk = chunks.pop()
        try:
            write(chunk)
            continue
        except Exception as exc:
            if is_transient(exc):
                raise
            error = exc
        if len(chunk) > 1:
            half = len(chunk) // 2
            chunks += [chunk[half:], chunk[:half]]
            continue
        (item,) = chunk
        try:
            write([safe(item)])
        except Exception as safe_error:
            if is_transient(safe_error):
                raise
            refused.append((item, safe_error))
        else:
            logger.error(
                "the database refused the job record of %s (%s); wrote it in a safe form",
                describe(item),
                _one_line(error),
            )
    if refused and not healthy():
        raise refused[-1][1]
    for item, refusal in refused:
        logger.error(
            "dropped the job record of %s: the database refused it even in a safe form (%s)",
            describe(item),
            _one_line(refusal),
        )
    return [item for item, _ in refused]


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"


def table_answers(using: str) -> bool:
    """Whether the JobRecord table of database ``using`` can be read: the probe of ``write_salvaging``."""
    from ..models import JobRecord

    try:
        JobRecord.objects.using(using).filter(pk=0).exists()
    except Exception:
        return False
    return True
