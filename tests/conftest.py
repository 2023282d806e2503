"""Session-wide real peers and per-test runtimes.

`db_url` runs a test on SQLite and on a real PostgreSQL server started for the session.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from pathlib import Path

import pytest

from orchestrator import db
from orchestrator.clock import ManualClock
from orchestrator.config import default_config_text, parse_config
from orchestrator.runtime import Runtime
from tests.device_peers import alpaca_simulator, indi_server  # noqa: F401 - session peers
from tests.pg import PostgresServer

REPO = Path(__file__).resolve().parents[1]
TEST_DATA = REPO / "tests" / "data"  # real inputs, origin in tests/data/README.md
_db_counter = itertools.count()


@pytest.fixture(scope="session")
def postgres():
    server = PostgresServer().start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'pyros.db'}"
    server = request.getfixturevalue("postgres")
    return server.create_database(f"pyros_test_{next(_db_counter)}")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 11, 25, 4, 0, tzinfo=UTC))


def make_runtime(tmp_path: Path, clock, url: str | None = None, extra_toml: str = "") -> Runtime:
    """A runtime on the shipped default config, its files under tmp_path."""
    config = parse_config(default_config_text() + extra_toml, tmp_path)
    if url is not None:
        config = config.model_copy(
            update={"database": config.database.model_copy(update={"url": url})}
        )
    return Runtime(config, clock)


@pytest.fixture
def runtime(tmp_path, clock, db_url) -> Runtime:
    """A migrated database (SQLite and PostgreSQL) with the manual clock."""
    rt = make_runtime(tmp_path, clock, db_url)
    db.upgrade(rt.engine)
    yield rt
    rt.engine.dispose()
