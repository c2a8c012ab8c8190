"""JSON error responses ``{"error": "<code>", "detail": "<message>"}`` and the mapping from queue errors."""

from __future__ import annotations

from django.http import JsonResponse

from ..queues.exceptions import ArqJobError, JobNotFound, JobNotQueued, JobResultUnavailable, RedisUnavailable

__all__ = ["READ_ONLY", "ApiError", "error_response", "from_job_error", "method_not_allowed"]

#: The methods of a view that only reads: HEAD is a GET whose body the server leaves out.
READ_ONLY = ("GET", "HEAD")


def error_response(
    status: int, code: str, detail: str, headers: dict[str, str] | None = None
) -> JsonResponse:
    """A JSON error body with a machine-readable code and a sentence for people."""
    return JsonResponse({"error": code, "detail": detail}, status=status, headers=headers)


def method_not_allowed(method: str | None, allowed: tuple[str, ...]) -> JsonResponse:
    """405 for a request of ``method``, naming the ``allowed`` ones."""
    detail = f"use {' or '.join(allowed)} here, not {method}"
    return error_response(405, "method_not_allowed", detail, {"Allow": ", ".join(allowed)})


class ApiError(Exception):
    """Raised anywhere in a view to answer with a JSON error."""

    def __init__(self, status: int, code: str, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.headers = headers

    def response(self) -> JsonResponse:
        return error_response(self.status, self.code, self.detail, self.headers)


#: Queue errors in the order they are matched (subclasses before ``ArqJobError``).
_JOB_ERRORS: list[tuple[type[ArqJobError], int, str]] = [
    (JobNotFound, 404, "job_not_found"),
    (JobResultUnavailable, 409, "result_not_ready"),
    (JobNotQueued, 409, "job_not_queued"),
    (RedisUnavailable, 503, "redis_unavailable"),
    (ArqJobError, 502, "queue_error"),
]


def from_job_error(exc: ArqJobError) -> ApiError:
    """The API error for a queue error: 404, 409, 503 or 502 for anything else Redis refused."""
    for cls, status, code in _JOB_ERRORS:
        if isinstance(exc, cls):
            return ApiError(status, code, str(exc))
    raise AssertionError("unreachable: ArqJobError is the last entry")  # pragma: no cover
