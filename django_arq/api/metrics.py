"""``GET metrics``: this web process's Prometheus metrics, for a scraper holding a token or a user.

A bearer token from ``ARQ_METRICS_TOKENS`` (or ``ARQ_API_TOKENS``, which grant every API right)
or a session user with the ``view_jobrecord`` permission may read them; a GET needs no CSRF
token. 404 while metrics are off (``ARQ_METRICS = False`` or no prometheus-client), 503 while
``PROMETHEUS_MULTIPROC_DIR`` names no writable directory.
"""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from ..metrics.directory import directory_problem
from ..metrics.switch import INSTALL, metrics_enabled, metrics_tokens
from .auth import VIEW, bearer_token, token_matches
from .errors import READ_ONLY, error_response, method_not_allowed

__all__ = ["metrics_view"]

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="django-arq metrics"'}


async def _refusal(request: HttpRequest) -> HttpResponse | None:
    """The 401/403 answer for a caller who may not read the metrics, or None."""
    token = bearer_token(request)
    if token is not None:
        if token_matches(token, metrics_tokens()):
            return None
        return error_response(401, "invalid_token", "the bearer token is not valid", _CHALLENGE)
    auser = getattr(request, "auser", None)
    user = await auser() if auser is not None else None
    if user is None or not user.is_authenticated:
        return error_response(401, "not_authenticated", "send an Authorization: Bearer token", _CHALLENGE)
    if not await user.ahas_perm(VIEW):
        return error_response(403, "permission_denied", f"this needs the {VIEW} permission")
    return None


@csrf_exempt
async def metrics_view(request: HttpRequest) -> HttpResponse:
    """The metrics in Prometheus's text format."""
    if request.method not in READ_ONLY:
        return method_not_allowed(request.method, READ_ONLY)
    response = await _refusal(request)
    if response is None and not metrics_enabled():
        response = error_response(404, "metrics_off", f"metrics are off: ARQ_METRICS, or {INSTALL}")
    if response is None and (problem := directory_problem()):
        response = error_response(503, "metrics_unavailable", problem)
    if response is None:
        from ..metrics.exposition import CONTENT_TYPE, render

        body = await sync_to_async(render, thread_sensitive=False)()  # reads Redis with the sync client
        response = HttpResponse(body, content_type=CONTENT_TYPE)
    response["Cache-Control"] = "no-store"
    return response
