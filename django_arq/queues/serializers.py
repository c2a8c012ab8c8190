"""Payload serializers: arq's default pickle, and JSON for payloads that cannot run code."""

from __future__ import annotations

import base64
import datetime as dt
import json
import pickle
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

__all__ = ["SERIALIZERS", "SerializedError", "Serializer", "get_serializer", "json_dumps", "json_loads"]


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
        return {"__exception__": {"type": f"{cls.__module__}.{cls.__qualname__}", "message": str(value)}}
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
    "__bytes__": base64.b64decode,
}


def _decode(obj: dict[str, Any]) -> Any:
    if len(obj) == 1:
        ((key, value),) = obj.items()
        decoder = _DECODERS.get(key)
        if decoder is not None:
            return decoder(value)
    return obj


def json_dumps(data: dict[str, Any]) -> bytes:
    """Serialize an arq payload as JSON, keeping exceptions, datetimes, decimals, UUIDs and bytes readable."""
    return json.dumps(data, default=_encode, separators=(",", ":")).encode()


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


def _pickle_dumps(data: dict[str, Any]) -> bytes:
    return pickle.dumps(data)


SERIALIZERS = {
    "pickle": Serializer("pickle", _pickle_dumps, pickle.loads),
    "json": Serializer("json", json_dumps, json_loads),
}


def get_serializer(name: str) -> Serializer:
    """The serializer registered under ``name`` ("pickle" or "json")."""
    try:
        return SERIALIZERS[name]
    except KeyError:
        raise ValueError(f"unknown SERIALIZER {name!r}; choose one of {sorted(SERIALIZERS)}") from None
