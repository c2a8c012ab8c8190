"""The ``endpoint`` decorator: method check, authentication, permission and JSON errors for a view."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from functools import wraps
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from ..queues.exceptions import ArqJobError
from .auth import Caller, authenticate
from .errors import READ_ONLY, ApiError, error_response, from_job_error, method_not_allowed

__all__ = ["endpoint"]

logger = logging.getLogger("django_arq.api")

View = Callable[..., Coroutine[Any, Any, HttpResponse]]


def endpoint(*, method: str, permission: str) -> Callable[[View], View]:
    """Make an async ``view(request, caller, **url_kwargs)`` an API endpoint.

    The view runs only for ``method`` (and HEAD if that is GET: the server leaves out the body)
    and an authenticated caller holding ``permission``; ``ApiError`` and queue errors it
    raises become JSON error responses. CSRF is checked by ``authenticate`` for session callers
    only, so the view itself is marked exempt.
    """
    allowed = READ_ONLY if method == "GET" else (method,)

    def decorate(view: View) -> View:
        @wraps(view)
        async def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method not in allowed:
                return method_not_allowed(request.method, allowed)
            try:
                caller: Caller = await authenticate(request, permission)
                response = await view(request, caller, *args, **kwargs)
            except ApiError as exc:
                response = exc.response()
            except ArqJobError as exc:
                response = from_job_error(exc).response()
            except ImproperlyConfigured as exc:  # e.g. ARQ_API_TOKENS; system checks say more
                logger.error("django-arq API: %s", exc)
                response = error_response(
                    500, "improperly_configured", "the server's django-arq settings are invalid"
                )
            response["Cache-Control"] = "no-store"
            return response

        return csrf_exempt(wrapper)

    return decorate
