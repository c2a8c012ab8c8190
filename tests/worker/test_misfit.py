"""A job function whose signature does not fit arq's call ``f(ctx, *args, **kwargs)`` fails with
an error that says how arq calls it; a TypeError raised inside a job is left as it is."""

from __future__ import annotations

from typing import Any

import pytest

from django_arq.worker.containment import contained


def forgot_ctx(doc_id: int) -> int:
    return doc_id


async def raises_inside(ctx: dict[str, Any], doc_id: int) -> None:
    raise TypeError("from the job's own code")


async def call(fn: Any, *args: Any) -> Any:
    async def run(ctx: dict[str, Any], *a: Any, **k: Any) -> Any:
        result = fn(ctx, *a, **k)
        return await result if hasattr(result, "__await__") else result

    return await contained(run, fn)({"job_id": "j"}, *args)


async def test_a_function_without_ctx_gets_a_message_that_names_ctx() -> None:
    with pytest.raises(TypeError, match=r"f\(ctx, \*args, \*\*kwargs\).*context dict") as info:
        await call(forgot_ctx, 42)
    assert "takes 1 positional argument but 2 were given" in str(info.value)


async def test_a_type_error_from_inside_the_job_is_not_rewritten() -> None:
    with pytest.raises(TypeError) as info:
        await call(raises_inside, 42)
    assert str(info.value) == "from the job's own code"
