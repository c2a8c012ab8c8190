"""What a job's ``SystemExit``, ``KeyboardInterrupt`` or other ``BaseException`` becomes."""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from django_arq.queues.serializers import SERIALIZERS, SerializedError
from django_arq.worker.containment import JobExited, contained


class Stop(BaseException):
    """A BaseException of the project's own."""


class Boom(Exception):
    pass


STOPPING = [SystemExit, KeyboardInterrupt, GeneratorExit, Stop]
PASSING = [Boom, ValueError, asyncio.CancelledError, TimeoutError]
ARGS = st.one_of(st.text(), st.integers(), st.none())


def raised_by_job(exc: BaseException) -> BaseException:
    """What arq sees when a job raises ``exc`` (through the worker's containment)."""

    async def job(ctx: dict[str, Any]) -> None:
        raise exc

    async def run() -> BaseException:
        try:
            await contained(job)({})
        except BaseException as seen:
            return seen
        raise AssertionError("the job did not raise")

    return asyncio.run(run())


@given(kind=st.sampled_from(STOPPING), arg=ARGS)
def test_stopping_exceptions_become_job_exited(kind: type[BaseException], arg: Any) -> None:
    exc = kind(arg)
    seen = raised_by_job(exc)
    assert isinstance(seen, JobExited) and isinstance(seen, Exception)  # arq's run_job catches it
    assert seen.type_name == f"{kind.__module__}.{kind.__qualname__}"
    assert seen.message == str(exc)
    assert seen.__cause__ is exc  # the traceback in the JobRecord shows the original


@given(kind=st.sampled_from(PASSING), arg=st.text())
def test_other_exceptions_and_cancellation_pass_through(kind: type[BaseException], arg: str) -> None:
    exc = kind(arg)
    assert raised_by_job(exc) is exc


@given(kind=st.sampled_from(STOPPING), arg=ARGS, serializer=st.sampled_from(sorted(SERIALIZERS)))
def test_stored_as_the_original_class_path_by_both_serializers(
    kind: type[BaseException], arg: Any, serializer: str
) -> None:
    """A client reading the result gets a plain exception naming the original, never a SystemExit."""
    pair = SERIALIZERS[serializer]
    exited = JobExited.of(kind(arg))
    stored = pair.loads(pair.dumps({"r": exited}))["r"]
    assert type(stored) is SerializedError
    assert (stored.type_name, stored.message) == (exited.type_name, exited.message)
