"""Run a protocol operation on a blocking or an asyncio Redis client: the only I/O in the backend."""

from __future__ import annotations

import asyncio
import time
from typing import Any, TypeVar

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


def run_sync(op: Op[T], client: redis.Redis, safe_url: str) -> T:
    """Drive ``op`` to completion on a blocking client."""
    reply: Any = None
    error: BaseException | None = None
    try:
        while True:
            step = op.throw(error) if error is not None else op.send(reply)
            error = None
            if isinstance(step, Sleep):
                time.sleep(step.seconds)
                reply = None
                continue
            try:
                reply = _call_sync(client, step)
            except (RedisError, OSError) as exc:
                error = _translate(exc, safe_url)
                error.__cause__ = exc
    except StopIteration as stop:
        return stop.value


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
    reply: Any = None
    error: BaseException | None = None
    try:
        while True:
            step = op.throw(error) if error is not None else op.send(reply)
            error = None
            if isinstance(step, Sleep):
                await asyncio.sleep(step.seconds)
                reply = None
                continue
            try:
                reply = await _call_async(client, step)
            except (RedisError, OSError) as exc:
                error = _translate(exc, safe_url)
                error.__cause__ = exc
    except StopIteration as stop:
        return stop.value


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
