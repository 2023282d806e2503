"""Fixtures of the network tests: a migrated PostgreSQL database shared by several telescopes."""

from __future__ import annotations

import itertools

import pytest

from orchestrator import db

_counter = itertools.count()


@pytest.fixture
def pg_url(postgres) -> str:
    """A fresh, migrated database on the session's PostgreSQL server."""
    url = postgres.create_database(f"pyros_network_{next(_counter)}")
    engine = db.make_engine(url)
    db.upgrade(engine)
    engine.dispose()
    return url
