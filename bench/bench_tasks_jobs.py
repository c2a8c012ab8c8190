"""The ``@task`` functions of bench_tasks.py (Django 6+), importable by its in-process workers."""

from __future__ import annotations

from django.tasks import task


@task
def noop() -> None:
    return None


@task
async def async_noop() -> None:
    return None
