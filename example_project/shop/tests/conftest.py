"""Fixtures for testing code that enqueues jobs: a fresh in-memory queue per test, a logged-in client."""

import gc
from collections.abc import Iterator

import pytest
from asgiref.sync import SyncToAsync
from django.contrib.auth.models import User
from django.db import connections

from django_arq import MockArqQueue, get_queue, queues
from shop.models import Product


@pytest.fixture
def queue() -> Iterator[MockArqQueue]:
    """The empty MockArqQueue behind ``get_queue()`` (config/settings/test.py), to inspect and run jobs.

    The code under test enqueues through ``get_queue()`` (which writes JobRecords); the test looks
    at ``queue.jobs()`` and runs them with ``await queue.run_queued()``.
    """
    queues.reset()  # drop the queue instances (and their jobs) left by other tests
    backend = get_queue().backend
    assert isinstance(backend, MockArqQueue)
    yield backend
    queues.reset()


@pytest.fixture
def user(db: None) -> User:
    return User.objects.create_user("ada", "ada@example.com", "pw")


@pytest.fixture
def mug(db: None) -> Product:
    return Product.objects.create(name="Mug", price="15.00")


@pytest.fixture(autouse=True, scope="session")
def _close_async_orm_connections(django_db_setup: None) -> Iterator[None]:
    """The async ORM runs in asgiref's thread: close its connection before the test database is dropped."""
    yield
    SyncToAsync.single_thread_executor.submit(connections.close_all).result()
    gc.collect()  # and the connections of finished job threads (MockArqQueue runs sync jobs in threads)
