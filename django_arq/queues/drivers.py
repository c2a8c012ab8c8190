"""Run a protocol operation on a blocking or an asyncio Redis client: the only I/O in the backend."""

from __future__ import annotations

import asyncio
import time
from typing import Any, Generic, TypeVar

import redis
import redis.asyncio
from redis.exceptions import NoScriptError, RedisError

from .exceptions import ArqJobError, RedisUnavailable
from .protocol import Call, Op, Sleep

__all__ = ["run_async", "run_sync"]

T = TypeVar("T")

_UNAVAILABLE = (redis.ConnectionError, redis.TimeoutError, OSError)


def _translate(exc: BaseException, safe_url: str) -> ArqJobError:
    if isinstance(exc, _UNAVAILABLE):
        return RedisUnavailable(f"Redis at {safe_url} is unavailable: {exc}")
    return ArqJobError(f"Redis at {safe_url} refused the command: {exc}")


def _script_args(call: Call) -> tuple[Any, ...]:
    assert call.script is not None
    ((keys, args),) = call.commands
    return (call.script.sha, len(keys), *keys, *args)


class _Run(Generic[T]):
    """The bookkeeping both drivers share: feed replies (or translated errors) into the operation."""

    def __init__(self, op: Op[T], safe_url: str) -> None:
        self.op, self.safe_url = op, safe_url
        self.reply: Any = None
        self.error: BaseException | None = None
        self.done = False
        self.value: Any = None

    def next_step(self) -> Call | Sleep | None:
        """The next step to perform, or None once the operation returned (its value in ``value``)."""
        try:
            step = self.op.throw(self.error) if self.error is not None else self.op.send(self.reply)
        except StopIteration as stop:
            self.value = stop.value
            return None
        self.reply, self.error = None, None
        return step

    def failed(self, exc: BaseException) -> None:
        self.error = _translate(exc, self.safe_url)
        self.error.__cause__ = exc


def run_sync(op: Op[T], client: redis.Redis, safe_url: str) -> T:
    """Drive ``op`` to completion on a blocking client."""
    run = _Run(op, safe_url)
    while (step := run.next_step()) is not None:
        if isinstance(step, Sleep):
            time.sleep(step.seconds)
            continue
        try:
            run.reply = _call_sync(client, step)
        except (RedisError, OSError) as exc:
            run.failed(exc)
    return run.value


def _call_sync(client: redis.Redis, call: Call) -> Any:
    if call.script is not None:
        try:
            return client.execute_command("EVALSHA", *_script_args(call))
        except NoScriptError:
            client.script_load(call.script.source)
            return client.execute_command("EVALSHA", *_script_args(call))
    if len(call.commands) == 1 and not call.transaction:
        return client.execute_command(*call.commands[0])
    with client.pipeline(transaction=call.transaction) as pipe:
        for command in call.commands:
            pipe.execute_command(*command)
        return pipe.execute()


async def run_async(op: Op[T], client: redis.asyncio.Redis, safe_url: str) -> T:
    """Drive ``op`` to completion on an asyncio client."""
    run = _Run(op, safe_url)
    while (step := run.next_step()) is not None:
        if isinstance(step, Sleep):
            await asyncio.sleep(step.seconds)
            continue
        try:
            run.reply = await _call_async(client, step)
        except (RedisError, OSError) as exc:
            run.failed(exc)
    return run.value


async def _call_async(client: redis.asyncio.Redis, call: Call) -> Any:
    if call.script is not None:
        try:
            return await client.execute_command("EVALSHA", *_script_args(call))
        except NoScriptError:
            await client.script_load(call.script.source)
            return await client.execute_command("EVALSHA", *_script_args(call))
    if len(call.commands) == 1 and not call.transaction:
        return await client.execute_command(*call.commands[0])
    async with client.pipeline(transaction=call.transaction) as pipe:
        for command in call.commands:
            pipe.execute_command(*command)
        return await pipe.execute()
