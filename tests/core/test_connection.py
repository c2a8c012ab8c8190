"""The asyncio clients pack commands with hiredis, byte for byte as redis-py would in Python."""

from __future__ import annotations

import pytest
from redis.asyncio.connection import Connection
from redis.exceptions import DataError

from django_arq.queues.connection import ConnectionFactory, PackedByHiredis

COMMANDS = [
    ("SCRIPT LOAD", "return 1"),  # a command name of two words
    (b"CONFIG GET", b"maxmemory"),
    ("EVALSHA", "0" * 40, 2, "arq:job:é", b"arq:result:\x00\xff", 86_400_000, 1.5, -3, 0.1),
    ("SET", "k", "x" * 100_000),  # past redis-py's buffer cutoff, which splits its output
]


@pytest.mark.parametrize("command", COMMANDS, ids=range(len(COMMANDS)))
def test_packed_like_redis_py(command: tuple[object, ...]) -> None:
    python = b"".join(Connection().pack_command(*command))
    assert b"".join(PackedByHiredis().pack_command(*command)) == python


def test_unpackable_arguments_raise_redis_py_error() -> None:
    with pytest.raises(DataError) as raised:
        PackedByHiredis().pack_command("SET", "k", None)
    cause = raised.value.__cause__
    assert isinstance(cause, TypeError) and str(raised.value) == str(cause) != ""  # hiredis's reason


@pytest.mark.parametrize(
    ("url", "options", "kind"),
    [
        ("redis://127.0.0.1:6379/0", {}, "Connection"),
        ("rediss://127.0.0.1:6380/0", {}, "SSLConnection"),
        ("redis://127.0.0.1:6379/0", {"unix_socket_path": "/tmp/redis.sock"}, "UnixDomainSocketConnection"),
        (
            "redis://127.0.0.1:26379/0",
            {"sentinel": True, "host": [("127.0.0.1", 26379)]},
            "SentinelManagedConnection",
        ),
    ],
)
async def test_every_kind_of_async_client_packs_in_c(url: str, options: dict[str, object], kind: str) -> None:
    client = ConnectionFactory(url, options).async_client()
    made = client.connection_pool.make_connection()
    assert isinstance(made, PackedByHiredis)
    assert [c.__name__ for c in type(made).__mro__[1:3]] == ["PackedByHiredis", kind]  # TLS etc. kept
    await client.aclose()


async def test_a_client_with_open_connections_is_repacked() -> None:
    """arq's create_pool pings before the worker gets its pool: that connection is dropped too."""
    from arq import create_pool
    from django.conf import settings

    from django_arq.queues.connection import repack_in_c

    pool = await create_pool(ConnectionFactory(settings.ARQ_QUEUES["default"]["REDIS_URL"]).arq_settings())
    assert not issubclass(pool.connection_pool.connection_class, PackedByHiredis)
    await repack_in_c(pool)
    assert await pool.ping()
    async with pool.client() as client:  # a connection taken from the pool
        await client.ping()
    connections = [*pool.connection_pool._available_connections]
    assert connections and all(isinstance(c, PackedByHiredis) for c in connections)
    await pool.aclose()
