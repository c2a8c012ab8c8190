"""A job cannot stop its worker: ``SystemExit`` and other ``BaseException``s a job raises become
``JobExited`` failures, an ``arq.Retry`` whose delay arq cannot keep a ``ValueError`` failure,
and a call that does not fit the job function's signature is explained."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

from arq import Retry

from ..queues.describe import class_path, safe_str
from ..queues.retry_policy import checked_retry
from ..queues.serializers import SerializedError
from .functions import Coroutine

__all__ = ["JobExited", "contained"]


class JobExited(SerializedError):
    """A job raised a ``BaseException`` that would stop the worker (``SystemExit``,
    ``KeyboardInterrupt``, ...): the job fails with this instead, which names that exception's class
    and message and is stored as such (a client reading the result is never made to exit)."""

    @classmethod
    def of(cls, exc: BaseException) -> JobExited:
        return cls(class_path(type(exc)), safe_str(exc))


def contained(fn: Coroutine, target: Any = None) -> Coroutine:
    """``fn``, a ``BaseException`` it raises (not a cancellation) turned into ``JobExited``, and a
    call that does not fit ``target`` (the job function itself) explained."""

    async def run(ctx: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return await fn(ctx, *args, **kwargs)
        except TypeError as exc:
            misfit = _misfit(target, exc, args, kwargs)
            if misfit is None:
                raise
            raise misfit from exc
        except Retry as exc:
            checked = checked_retry(exc)
            if checked is exc:
                raise
            raise checked from exc
        except (Exception, asyncio.CancelledError):
            raise
        except BaseException as exc:
            raise JobExited.of(exc) from exc

    return run


def _misfit(target: Any, exc: TypeError, args: tuple[Any, ...], kwargs: dict[str, Any]) -> TypeError | None:
    """A clearer error when arq's call ``target(ctx, *args, **kwargs)`` does not fit its signature."""
    try:
        inspect.signature(target).bind(None, *args, **kwargs)
    except TypeError as misfit:
        return TypeError(
            f"{safe_str(exc)} (arq calls a job function as f(ctx, *args, **kwargs): its first parameter "
            f"receives the job's context dict, then come the job's {len(args)} argument(s) and keyword(s) "
            f"{sorted(kwargs)}; {misfit})"
        )
    except ValueError:  # no signature to read
        return None
    return None  # the call fits: the TypeError came from inside the job
