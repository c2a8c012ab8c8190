"""The clients a ConnectionFactory builds from a URL and OPTIONS: every setting passed on, the
sentinel case, the default retry, hiredis packing switched on once, and passwords kept out of
messages. Nothing here connects."""

from __future__ import annotations

from typing import Any

import pytest
import redis
import redis.asyncio
import redis.asyncio.retry
import redis.retry
from redis.backoff import ConstantBackoff, NoBackoff

from django_arq.queues import connection
from django_arq.queues.connection import ConnectionFactory, PackedByHiredis, redact_url, repack_in_c

TLS = "rediss://user:pw@redis.example.com:6390/3"
TLS_OPTIONS = {
    "conn_timeout": 3,
    "socket_timeout": 2.5,
    "max_connections": 7,
    "retry_on_timeout": True,
    "ssl_keyfile": "/k",
    "ssl_certfile": "/c",
    "ssl_cert_reqs": "optional",
    "ssl_ca_certs": "/ca",
    "ssl_ca_data": "DATA",
    "ssl_check_hostname": True,
}
SENTINEL = {"sentinel": True, "host": [("s1", 26379)], "sentinel_master": "main", "conn_timeout": 4}


def test_unknown_options_are_refused_by_name() -> None:
    with pytest.raises(ValueError, match=r"^unknown Redis OPTIONS \['nope', 'zzz'\]$"):
        ConnectionFactory("redis://h/0", {"zzz": 1, "nope": 2, "conn_timeout": 1})


def test_a_sentinel_needs_a_list_of_sentinels() -> None:
    with pytest.raises(ValueError, match=r"^OPTIONS sentinel=True needs host as a list"):
        ConnectionFactory("redis://h/0", {"sentinel": True})


def test_the_factory_keeps_the_url_its_safe_form_and_arq_settings() -> None:
    factory = ConnectionFactory("redis://:pw@h:6380/2", {"conn_timeout": 9})
    assert (factory.url, factory.safe_url, factory.socket_timeout) == (
        "redis://:pw@h:6380/2",
        "redis://:***@h:6380/2",
        None,
    )
    settings = factory.arq_settings()
    assert (settings.host, settings.port, settings.database, settings.conn_timeout) == ("h", 6380, 2, 9)
    assert ConnectionFactory("redis://h/0", {"socket_timeout": 1.5}).socket_timeout == 1.5
    assert not hasattr(factory.settings, "socket_timeout")  # ours, not arq's


def test_every_setting_reaches_the_sync_client() -> None:
    kwargs = ConnectionFactory(TLS, TLS_OPTIONS).sync_client().connection_pool.connection_kwargs
    assert {k: kwargs[k] for k in ("host", "port", "db", "username", "password")} == {
        "host": "redis.example.com",
        "port": 6390,
        "db": 3,
        "username": "user",
        "password": "pw",
    }
    assert (kwargs["socket_connect_timeout"], kwargs["socket_timeout"]) == (3, 2.5)
    assert set(kwargs["retry_on_error"]) == {redis.ConnectionError, redis.TimeoutError}  # retry_on_timeout
    tls = {
        k.removeprefix("ssl_"): kwargs[k]
        for k in kwargs
        if k.startswith("ssl_") and k[4:] in "keyfile certfile cert_reqs ca_certs ca_data check_hostname"
    }
    assert tls == {
        "keyfile": "/k",
        "certfile": "/c",
        "cert_reqs": "optional",
        "ca_certs": "/ca",
        "ca_data": "DATA",
        "check_hostname": True,
    }


def test_every_setting_reaches_the_async_client() -> None:
    client = ConnectionFactory(TLS, TLS_OPTIONS).async_client()
    pool = client.connection_pool
    kwargs = pool.connection_kwargs
    assert (pool.max_connections, kwargs["retry_on_timeout"], kwargs["ssl_check_hostname"]) == (7, True, True)
    assert (kwargs["host"], kwargs["port"], kwargs["db"], kwargs["password"], kwargs["socket_timeout"]) == (
        "redis.example.com",
        6390,
        3,
        "pw",
        2.5,
    )
    assert issubclass(pool.connection_class, redis.asyncio.SSLConnection)


def test_a_unix_socket_and_the_errors_retried() -> None:
    options = {"unix_socket_path": "/run/redis.sock", "retry_on_error": [redis.TimeoutError]}
    pool = ConnectionFactory("redis://localhost/1", options).sync_client().connection_pool
    assert (pool.connection_class, pool.connection_kwargs["path"]) == (
        redis.UnixDomainSocketConnection,
        "/run/redis.sock",
    )
    assert pool.connection_kwargs["retry_on_error"] == [redis.TimeoutError]
    plain = ConnectionFactory("redis://localhost/1").sync_client().connection_pool
    assert plain.connection_kwargs["retry_on_error"] == [redis.ConnectionError]
    assert plain.max_connections == 2**31  # arq's default: no bound


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_client_retries_once_at_once_unless_told_otherwise(kind: str) -> None:
    factory = ConnectionFactory("redis://localhost/1")
    client: Any = factory.sync_client() if kind == "sync" else factory.async_client()
    retry = client.connection_pool.connection_kwargs["retry"]
    expected = redis.retry.Retry if kind == "sync" else redis.asyncio.retry.Retry
    assert type(retry) is expected and retry._retries == 1 and isinstance(retry._backoff, NoBackoff)
    factory = ConnectionFactory("redis://localhost/1", {"retry": expected(ConstantBackoff(0.5), 4)})
    client = factory.sync_client() if kind == "sync" else factory.async_client()
    retry = client.connection_pool.connection_kwargs["retry"]  # redis-py may copy it
    assert retry._retries == 4 and isinstance(retry._backoff, ConstantBackoff)


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_sentinel_client_asks_its_sentinels_for_the_master(kind: str) -> None:
    factory = ConnectionFactory("rediss://u:pw@ignored:1/2", SENTINEL)
    client: Any = factory.sync_client() if kind == "sync" else factory.async_client()
    pool = client.connection_pool
    assert pool.service_name == "main"
    kwargs = pool.connection_kwargs
    assert (kwargs["db"], kwargs["password"], kwargs["socket_connect_timeout"]) == (2, "pw", 4)
    assert "SSL" in pool.connection_class.__name__ and kwargs["ssl_cert_reqs"] == "required"
    assert "host" not in kwargs and "unix_socket_path" not in kwargs  # the sentinels name the master
    manager = pool.sentinel_manager
    assert [s.connection_pool.connection_kwargs["host"] for s in manager.sentinels] == ["s1"]
    assert manager.sentinel_kwargs == {
        "socket_connect_timeout": 4,
        "socket_timeout": None,
        "ssl": True,
        "username": "u",
        "password": "pw",
    }
    if kind == "async":
        assert issubclass(pool.connection_class, PackedByHiredis)


async def test_packing_in_c_is_switched_on_once() -> None:
    client = ConnectionFactory("redis://localhost/1").async_client()
    packed = client.connection_pool.connection_class
    assert issubclass(packed, PackedByHiredis) and packed.__name__ == "Connection"
    connection_before = client.connection_pool.make_connection()
    client.connection_pool._in_use_connections.add(connection_before)
    await repack_in_c(client)  # already packing in C: its pool is left as it is
    assert client.connection_pool.connection_class is packed
    assert connection_before in client.connection_pool._in_use_connections
    await client.aclose()


async def test_without_hiredis_clients_pack_in_python(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(connection, "hiredis", None)
    client = ConnectionFactory("redis://localhost/1").async_client()
    assert client.connection_pool.connection_class is redis.asyncio.Connection
    made = client.connection_pool.make_connection()
    client.connection_pool._in_use_connections.add(made)
    await repack_in_c(client)
    assert made in client.connection_pool._in_use_connections  # nothing to repack: left alone
    await client.aclose()


@pytest.mark.parametrize(
    ("url", "safe"),
    [
        ("redis://user:pw@host:6380/1", "redis://user:***@host:6380/1"),
        ("redis://:pw@/0", "redis://:***@/0"),
        ("unix://:pw@/run/redis.sock?db=2", "unix://:***@/run/redis.sock?db=2"),
        ("redis://[::1/0", "<unparsable Redis URL>"),
        ("redis://user@host/0", "redis://user@host/0"),
    ],
)
def test_redacted_urls(url: str, safe: str) -> None:
    assert redact_url(url) == safe
