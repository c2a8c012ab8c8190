"""The OpenAPI 3.1 document of the HTTP API: shipped as ``openapi.json`` beside this module, served
at ``openapi.json`` under the API's mount point.

The served copy names the mount point as its server and the limits this site's settings set
(``ARQ_API_MAX_WAIT``); the shipped file has the defaults.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt

from .errors import READ_ONLY, method_not_allowed
from .parsing import max_wait

__all__ = ["PATH", "document", "openapi_document"]

PATH = Path(__file__).with_name("openapi.json")


@cache
def _shipped() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(PATH.read_text(encoding="utf-8"))
    return document


def openapi_document(mount: str = "/arq") -> dict[str, Any]:
    """The document for an API mounted at ``mount`` (a path, no trailing slash)."""
    document = copy.deepcopy(_shipped())
    document["servers"] = [{"url": mount}]
    for item in document["paths"].values():
        for operation in item.values():
            for parameter in operation.get("parameters", []) if isinstance(operation, dict) else []:
                if parameter.get("name") in ("wait", "timeout"):
                    parameter["schema"]["maximum"] = max_wait()
    return document


@csrf_exempt  # read-only: another method gets the API's JSON 405, not Django's CSRF page
async def document(request: HttpRequest) -> HttpResponse:
    """``GET openapi.json``: the document, for anyone (it holds no secret and no job)."""
    if request.method not in READ_ONLY:
        return method_not_allowed(request.method, READ_ONLY)
    mount = reverse("django_arq:enqueue").removesuffix("jobs/").rstrip("/")
    return JsonResponse(openapi_document(mount))
