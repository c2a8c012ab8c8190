"""Async JSON views of the HTTP API: enqueue a job, read its state or result, abort it.

Mount with ``path("arq/", include("django_arq.urls"))``. Authentication and errors: see
``django_arq.api.auth`` and ``django_arq.api.errors``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import nullcontext
from urllib.parse import urlencode

from django.db.models import Value
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.utils import timezone

from ..audit.lookup import FoundJob, find_job, read_tries, wait_for_job
from ..audit.payloads import job_json
from ..audit.rows import storable_id
from ..conf import DEFAULT_ALIAS
from ..handler import get_queue
from ..models import JobRecord
from .auth import ENQUEUE, OPERATE, VIEW, Caller
from .endpoint import endpoint
from .errors import ApiError, error_response
from .parsing import JobQuery, max_wait, parse_enqueue, parse_job_query, read_json
from .waiters import active_waiters, place, waiting

__all__ = ["abort_job", "enqueue", "job_detail", "job_result", "not_found"]


def _job_url(job_id: str, alias: str, queue_name: str) -> str:
    """The job's URL, with the query that finds it again."""
    params = {"queue": queue_name} if alias == DEFAULT_ALIAS else {"alias": alias, "queue": queue_name}
    return f"{reverse('django_arq:job', args=[job_id])}?{urlencode(params)}"


async def _found_json(query: JobQuery, found: FoundJob) -> dict[str, object]:
    """The job's fields, with its tries as its record shows them."""
    tries = await read_tries(query.alias, query.job_id)
    return job_json(found.job, alias=query.alias, source=found.source, **tries)


def _progress_moved(query: JobQuery) -> Callable[[FoundJob], bool] | None:
    """With ``?progress=``: true of a job whose progress is not the one the caller last saw."""
    if not query.watch_progress:
        return None

    def moved(found: FoundJob) -> bool:
        progress = found.job.progress
        return (progress.time if progress else None) != query.progress_seen

    return moved


async def _read_or_wait(query: JobQuery) -> FoundJob:
    """The job now, or once finished (or its progress moved, if asked) within ``?wait=`` seconds.

    429 when too many requests wait already.
    """
    found = await find_job(query.alias, query.job_id, query.queue_name)
    moved = _progress_moved(query)
    if found.finished or query.wait <= 0 or (moved is not None and moved(found)):
        return found
    with waiting():
        return await wait_for_job(
            query.alias, query.job_id, query.queue_name, timeout=query.wait, first=found, until=moved
        )


@endpoint(method="POST", permission=ENQUEUE)
async def enqueue(request: HttpRequest, caller: Caller) -> HttpResponse:
    """``POST jobs/``: enqueue an allow-listed task; 201 with the job's metadata."""
    job = parse_enqueue(read_json(request))
    (metadata,) = await get_queue(job.alias).enqueue_many([job.spec])
    response = JsonResponse(job_json(metadata, alias=job.alias), status=201)
    response["Location"] = _job_url(metadata.id, job.alias, metadata.queue_name)
    return response


@endpoint(method="GET", permission=VIEW)
async def job_detail(request: HttpRequest, caller: Caller, job_id: str) -> HttpResponse:
    """``GET jobs/<id>/[?wait=S[&progress=T]]``: metadata, with the result fields once finished."""
    query = parse_job_query(request, job_id)
    found = await _read_or_wait(query)
    return JsonResponse(await _found_json(query, found))


@endpoint(method="GET", permission=VIEW)
async def job_result(request: HttpRequest, caller: Caller, job_id: str) -> HttpResponse:
    """``GET jobs/<id>/result/[?wait=S]``: the finished job; 409 while it has no result."""
    query = parse_job_query(request, job_id)
    if query.watch_progress:  # a result does not move with progress: only the job's state does
        raise ApiError(400, "unknown_field", "unknown query parameters ['progress'] (see GET jobs/<id>/)")
    found = await _read_or_wait(query)
    if not found.finished:
        raise ApiError(409, "result_not_ready", f"job {job_id!r} is {found.job.status.value}; no result yet")
    return JsonResponse(await _found_json(query, found))


async def _note_abort_request(query: JobQuery, caller: Caller, *, unfinished: bool = False) -> None:
    """Name the caller on the job's record (the audit layer notes the time of the request); with
    ``unfinished``, only on the record of a job not finished (a request whose answer nobody read)."""
    records = JobRecord.objects.filter(alias=query.alias, job_id=storable_id(query.job_id))
    if unfinished:
        records = records.filter(finish_time__isnull=True)
    await records.aupdate(
        abort_requested_at=Coalesce("abort_requested_at", Value(timezone.now())),
        abort_requested_by=caller.label[:150],
    )


async def _abort(query: JobQuery, timeout: float) -> FoundJob | None:
    """Abort the job in the queue asked, else in the one its record names (where GET finds it too):
    None once aborted, else the job as found (``JobNotFound`` if nowhere, ``TimeoutError`` if no
    worker answered in time)."""
    queue = get_queue(query.alias)
    if await queue.abort_job(query.job_id, query.queue_name, timeout=timeout):
        return None
    found = await find_job(query.alias, query.job_id, query.queue_name)
    elsewhere = found.job.queue_name
    if found.source == "record" and not found.finished and elsewhere != query.queue_name:
        if await queue.abort_job(query.job_id, elsewhere, timeout=timeout):
            return None
        found = await find_job(query.alias, query.job_id, elsewhere)
    return found


@endpoint(method="POST", permission=OPERATE)
async def abort_job(request: HttpRequest, caller: Caller, job_id: str) -> HttpResponse:
    """``POST jobs/<id>/abort/[?timeout=S]``: 200 ``{"aborted": bool}``, 202 if no worker answered in time."""
    query = parse_job_query(request, job_id)
    queue = get_queue(query.alias)
    timeout = query.timeout if query.timeout is not None else min(queue.abort_timeout, max_wait())
    body: dict[str, object] = {"id": job_id, "alias": query.alias}
    try:
        # Waiting for a worker's answer takes a waiter's place; with none free, the abort is only requested.
        with place() if timeout > 0 else nullcontext(False) as held:
            found = await _abort(query, timeout if held else 0.0)  # JobNotFound -> 404
    except TimeoutError as exc:
        await _note_abort_request(query, caller)
        detail = str(exc)
        if timeout and not held:
            detail += f" (not waited for: {active_waiters()} requests wait here)"
        return JsonResponse({**body, "aborted": False, "requested": True, "detail": detail}, status=202)
    except asyncio.CancelledError:  # the client went away while waiting: its request stays, and who made it
        await asyncio.shield(_note_abort_request(query, caller, unfinished=True))
        raise
    if found is None:
        await _note_abort_request(query, caller)
        return JsonResponse({**body, "aborted": True, "requested": True, "status": "complete"})
    status = found.job.status.value
    detail = f"job {job_id!r} is {status}; only queued, deferred or running jobs can be aborted"
    return JsonResponse({**body, "aborted": False, "requested": False, "status": status, "detail": detail})


async def not_found(request: HttpRequest) -> HttpResponse:
    """Any other URL under ``jobs/``: a JSON 404, as every answer of the API is JSON."""
    return error_response(404, "not_found", f"no API endpoint at {request.path!r}")
