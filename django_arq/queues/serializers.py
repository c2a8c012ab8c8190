"""Payload serializers: arq's default pickle, and JSON for payloads that cannot run code."""

from __future__ import annotations

import base64
import datetime as dt
import json
import pickle
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .describe import class_path

__all__ = [
    "ESCAPE",
    "SERIALIZERS",
    "TAGS",
    "SerializedError",
    "Serializer",
    "get_serializer",
    "json_dumps",
    "json_loads",
]


class SerializedError(Exception):
    """An exception that crossed Redis as JSON: its class path and message, never code."""

    def __init__(self, type_name: str, message: str) -> None:
        super().__init__(message)
        self.type_name = type_name
        self.message = message

    def __repr__(self) -> str:
        return f"{self.type_name}({self.message!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (SerializedError, (self.type_name, self.message))


def _encode(value: Any) -> Any:
    if isinstance(value, BaseException):
        if isinstance(value, SerializedError):
            return {"__exception__": {"type": value.type_name, "message": value.message}}
        cls = type(value)
        return {"__exception__": {"type": class_path(cls), "message": str(value)}}
    if isinstance(value, dt.datetime):
        return {"__datetime__": value.isoformat()}
    if isinstance(value, dt.date):
        return {"__date__": value.isoformat()}
    if isinstance(value, Decimal):
        return {"__decimal__": str(value)}
    if isinstance(value, uuid.UUID):
        return {"__uuid__": str(value)}
    if isinstance(value, bytes):
        return {"__bytes__": base64.b64encode(value).decode()}
    if isinstance(value, set | frozenset):
        return sorted(value, key=repr)
    raise TypeError(f"{type(value).__name__} values cannot be sent as JSON")


_DECODERS: dict[str, Callable[[Any], Any]] = {
    "__exception__": lambda v: SerializedError(v["type"], v["message"]),
    "__datetime__": dt.datetime.fromisoformat,
    "__date__": dt.date.fromisoformat,
    "__decimal__": Decimal,
    "__uuid__": uuid.UUID,
    "__bytes__": lambda v: base64.b64decode(v, validate=True),
}
#: The tag of an escaped dict: a dict of the caller's that has the shape of a tag is sent as
#: ``{ESCAPE: [[key, value]]}`` so that it is decoded as that dict, not as the tagged type.
ESCAPE = "__dict__"
TAGS = frozenset([*_DECODERS, ESCAPE])
_TAG_TEXT = re.compile("|".join(re.escape(json.dumps(tag)) for tag in sorted(TAGS)))


def _is_tag_shaped(value: dict[Any, Any]) -> bool:
    return len(value) == 1 and next(iter(value)) in TAGS


def _escape(value: Any) -> Any:
    """``value`` with every tag-shaped dict in it escaped (containers copied only where needed)."""
    if isinstance(value, dict):
        items = [(k, _escape(v)) for k, v in value.items()]
        if _is_tag_shaped(value):
            return {ESCAPE: [list(item) for item in items]}
        return dict(items)
    if isinstance(value, list | tuple):
        return [_escape(v) for v in value]
    return value


def _unescape(pairs: Any) -> dict[str, Any] | None:
    """The dict an escape holds, or None if ``pairs`` is not a list of [key, value] pairs."""
    if isinstance(pairs, list) and all(
        isinstance(p, list) and len(p) == 2 and isinstance(p[0], str) for p in pairs
    ):
        return dict(pairs)
    return None


def _decode(obj: dict[str, Any]) -> Any:
    """A tagged value decoded; any other dict, or a tag whose value does not fit, as it is."""
    if len(obj) == 1:
        ((key, value),) = obj.items()
        if key == ESCAPE:
            found = _unescape(value)
            return obj if found is None else found
        decoder = _DECODERS.get(key)
        if decoder is not None:
            try:
                return decoder(value)
            except Exception:
                return obj  # not written by json_dumps: the caller's data, as it is
    return obj


def json_dumps(data: dict[str, Any]) -> bytes:
    """Serialize an arq payload as JSON, keeping exceptions, datetimes, decimals, UUIDs and bytes readable.

    A dict of the caller's data that looks like one of those tags is escaped, so that it arrives
    as the same dict (the text is checked first: payloads without a tag-like key are written once).
    """
    text = json.dumps(data, default=_encode, separators=(",", ":"))
    if _TAG_TEXT.search(text):
        text = json.dumps(_escape(data), default=_encode, separators=(",", ":"))
    return text.encode()


def json_loads(raw: bytes) -> dict[str, Any]:
    """Inverse of ``json_dumps``; exceptions come back as ``SerializedError``."""
    result: dict[str, Any] = json.loads(raw, object_hook=_decode)
    return result


@dataclass(frozen=True)
class Serializer:
    """A named pair of arq ``job_serializer`` / ``job_deserializer`` functions."""

    name: str
    dumps: Callable[[dict[str, Any]], bytes]
    loads: Callable[[bytes], dict[str, Any]]
    text_keys: bool = False  # writes every dict key as text (JSON: 1 and "1" become one key)


def _pickle_dumps(data: dict[str, Any]) -> bytes:
    return pickle.dumps(data)


SERIALIZERS = {
    "pickle": Serializer("pickle", _pickle_dumps, pickle.loads),
    "json": Serializer("json", json_dumps, json_loads, text_keys=True),
}


def get_serializer(name: str) -> Serializer:
    """The serializer registered under ``name`` ("pickle" or "json")."""
    try:
        return SERIALIZERS[name]
    except KeyError:
        raise ValueError(f"unknown SERIALIZER {name!r}; choose one of {sorted(SERIALIZERS)}") from None
