"""Who is calling the API: a bearer token from ``ARQ_API_TOKENS`` or a Django session user.

A bearer token grants every API permission (enqueue, view, operate) and is exempt from CSRF, as
it cannot be sent by a browser on its own. A session user needs the permission of the action and,
for POST, a valid CSRF token. Anonymous callers get 401, never a redirect to a login page.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware

from .errors import ApiError

__all__ = [
    "ENQUEUE",
    "OPERATE",
    "VIEW",
    "Caller",
    "authenticate",
    "bearer_token",
    "configured_tokens",
    "token_matches",
]

ENQUEUE = "django_arq.enqueue_jobrecord"
VIEW = "django_arq.view_jobrecord"
OPERATE = "django_arq.operate_jobrecord"

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="django-arq"'}


@dataclass(frozen=True)
class Caller:
    """An authenticated caller: a user, or a service holding a token."""

    user: Any = None
    token: bool = False

    @property
    def label(self) -> str:
        """How the caller is named in records (``abort_requested_by``)."""
        return "api token" if self.token else str(self.user.get_username())


def configured_tokens() -> list[bytes]:
    """The accepted bearer tokens (``ARQ_API_TOKENS``, default none), as bytes."""
    tokens = getattr(settings, "ARQ_API_TOKENS", [])
    if isinstance(tokens, str) or not all(isinstance(t, str) for t in tokens):
        raise ImproperlyConfigured("ARQ_API_TOKENS must be a list of strings")
    return [t.encode() for t in tokens if t]


def bearer_token(request: HttpRequest) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None without one."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip()


def token_matches(token: str, extra: Sequence[str] = ()) -> bool:
    """Whether ``token`` is one of ``ARQ_API_TOKENS`` or of ``extra``."""
    given = token.encode()
    # Compare with every configured token, in constant time each, without stopping at a match.
    known = configured_tokens() + [t.encode() for t in extra]
    matches = [hmac.compare_digest(given, k) for k in known]
    return bool(token) and any(matches)


def _no_response(request: HttpRequest) -> HttpResponse:
    raise AssertionError("the CSRF check never calls the view")  # pragma: no cover


class _CsrfCheck(CsrfViewMiddleware):
    def _reject(self, request: HttpRequest, reason: str) -> Any:
        return reason


def _csrf_failure(request: HttpRequest) -> str | None:
    """Why Django's CSRF protection rejects this request, or None if it passes."""
    check = _CsrfCheck(_no_response)
    check.process_request(request)
    reason: str | None = check.process_view(request, _no_response, (), {})  # type: ignore[assignment]
    return reason  # ``_reject`` above returns the reason instead of a response


async def authenticate(request: HttpRequest, permission: str) -> Caller:
    """The caller, if allowed to use ``permission``; else ``ApiError`` 401 or 403."""
    token = bearer_token(request)
    if token is not None:
        if not token_matches(token):
            raise ApiError(401, "invalid_token", "the bearer token is not valid", _CHALLENGE)
        return Caller(token=True)
    auser = getattr(request, "auser", None)  # set by AuthenticationMiddleware
    user = await auser() if auser is not None else None
    if user is None or not user.is_authenticated:
        raise ApiError(401, "not_authenticated", "log in or send an Authorization: Bearer token", _CHALLENGE)
    reason = await sync_to_async(_csrf_failure)(request)  # may read the session (CSRF_USE_SESSIONS)
    if reason is not None:
        raise ApiError(403, "csrf_failed", f"CSRF verification failed: {reason}")
    if not await user.ahas_perm(permission):
        raise ApiError(403, "permission_denied", f"this needs the {permission} permission")
    return Caller(user=user)
