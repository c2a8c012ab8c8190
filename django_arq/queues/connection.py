"""Redis connection settings: arq's RedisSettings from a URL plus OPTIONS, and clients built from them."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import redis
import redis.asyncio
import redis.asyncio.retry
import redis.asyncio.sentinel
import redis.retry
import redis.sentinel
from arq.connections import RedisSettings
from redis.backoff import NoBackoff
from redis.exceptions import DataError

try:  # redis[hiredis]
    import hiredis
except ImportError:  # pragma: no cover - hiredis is installed wherever the tests run
    hiredis = None  # type: ignore[assignment]

__all__ = [
    "EXTRA_OPTIONS",
    "REDIS_OPTIONS",
    "ConnectionFactory",
    "PackedByHiredis",
    "redact_url",
    "repack_in_c",
]

#: Keys of ``OPTIONS`` that are arq ``RedisSettings`` fields.
REDIS_OPTIONS = frozenset(f.name for f in dataclasses.fields(RedisSettings))
#: Keys of ``OPTIONS`` that django-arq adds for its producer-side clients.
EXTRA_OPTIONS: dict[str, float | None] = {"socket_timeout": None}


def redact_url(url: str) -> str:
    """The URL with its password replaced by ``***``, safe for messages and logs."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable Redis URL>"
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


class ConnectionFactory:
    """Builds sync and asyncio Redis clients with identical settings from one URL and OPTIONS."""

    def __init__(self, url: str, options: Mapping[str, Any] | None = None) -> None:
        options = dict(options or {})
        unknown = set(options) - REDIS_OPTIONS - set(EXTRA_OPTIONS)
        if unknown:
            raise ValueError(f"unknown Redis OPTIONS {sorted(unknown)}")
        self.url = url
        self.safe_url = redact_url(url)
        extras = {key: options.pop(key, default) for key, default in EXTRA_OPTIONS.items()}
        self.socket_timeout: float | None = extras["socket_timeout"]
        self.settings: RedisSettings = dataclasses.replace(RedisSettings.from_dsn(url), **options)
        if self.settings.sentinel and isinstance(self.settings.host, str):
            raise ValueError("OPTIONS sentinel=True needs host as a list of (host, port) sentinels")

    def arq_settings(self) -> RedisSettings:
        """arq's own RedisSettings, for the worker."""
        return self.settings

    def _kwargs(self) -> dict[str, Any]:
        s = self.settings
        kwargs: dict[str, Any] = {
            "db": s.database,
            "username": s.username,
            "password": s.password,
            "socket_connect_timeout": s.conn_timeout,
            "socket_timeout": self.socket_timeout,
            "retry_on_timeout": s.retry_on_timeout,
            "retry_on_error": list(s.retry_on_error or [redis.ConnectionError]),
            "max_connections": s.max_connections,
        }
        if s.ssl:
            kwargs.update(
                ssl=True,
                ssl_keyfile=s.ssl_keyfile,
                ssl_certfile=s.ssl_certfile,
                ssl_cert_reqs=s.ssl_cert_reqs,
                ssl_ca_certs=s.ssl_ca_certs,
                ssl_ca_data=s.ssl_ca_data,
                ssl_check_hostname=s.ssl_check_hostname,
            )
        if not s.sentinel:
            kwargs.update(host=s.host, port=s.port, unix_socket_path=s.unix_socket_path)
        return kwargs

    def sync_client(self) -> redis.Redis:
        """A thread-safe blocking client with its own connection pool."""
        kwargs = self._kwargs()
        kwargs["retry"] = self.settings.retry or redis.retry.Retry(NoBackoff(), 1)
        if self.settings.sentinel:
            sentinel = redis.sentinel.Sentinel(self.settings.host, **_sentinel_kwargs(kwargs))
            return sentinel.master_for(self.settings.sentinel_master, **kwargs)
        return redis.Redis(**kwargs)

    def async_client(self) -> redis.asyncio.Redis:
        """An asyncio client; its connections belong to the event loop that first uses them."""
        kwargs = self._kwargs()
        kwargs["retry"] = self.settings.retry or redis.asyncio.retry.Retry(NoBackoff(), 1)
        if self.settings.sentinel:
            sentinel = redis.asyncio.sentinel.Sentinel(self.settings.host, **_sentinel_kwargs(kwargs))
            return _packed_in_c(sentinel.master_for(self.settings.sentinel_master, **kwargs))
        return _packed_in_c(redis.asyncio.Redis(**kwargs))


class PackedByHiredis:
    """Mixed into the asyncio client's connection class: commands are packed in C by hiredis, as
    redis-py's blocking client packs them when hiredis is installed (its asyncio client packs them
    in Python, several times slower; bench_records.py's bulk enqueue shows the difference)."""

    def pack_command(self, *args: Any) -> list[bytes]:
        name, rest = args[0], args[1:]
        words = tuple(name.encode().split() if isinstance(name, str) else name.split())  # "SCRIPT LOAD"
        try:
            return [hiredis.pack_command(words + rest)]
        except TypeError as exc:
            raise DataError(str(exc)) from exc


async def repack_in_c(client: redis.asyncio.Redis) -> None:
    """Make a client that has opened connections already (arq's ``create_pool`` pings) pack in C:
    its connections are closed and forgotten, so call it while none is in use."""
    if _use_hiredis(client.connection_pool):
        await client.connection_pool.disconnect()
        client.connection_pool.reset()


def _packed_in_c(client: redis.asyncio.Redis) -> redis.asyncio.Redis:
    """``client``, its connections packing commands with hiredis when it is installed."""
    _use_hiredis(client.connection_pool)
    return client


def _use_hiredis(pool: redis.asyncio.ConnectionPool) -> bool:
    """Give ``pool`` connections that pack with hiredis, if installed; True if this changed it."""
    if hiredis is None or issubclass(pool.connection_class, PackedByHiredis):
        return False
    base = pool.connection_class
    pool.connection_class = type(base.__name__, (PackedByHiredis, base), {})
    return True


def _sentinel_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    keys = ("socket_connect_timeout", "socket_timeout", "ssl", "username", "password")
    return {"sentinel_kwargs": {k: kwargs[k] for k in keys if k in kwargs}}
