"""`pyros submit`, `pyros export` and `pyros user` as an operator types them (subprocesses).

The folder's pyros.toml pins a simulated clock at 2026-11-25 04:00 UTC, so the example windows
stay in the future whatever the date the tests run.
"""

from __future__ import annotations

import os

import pytest
from sqlalchemy import create_engine, func, select

from orchestrator.config import default_config_text
from orchestrator.model import Album, Plan, Request, Sequence
from orchestrator.requests.xml_io import parse_request, request_to_xml
from tests.helpers import pyros
from tests.orchestrator.request_helpers import example, variant


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """A site made by `pyros init` and `pyros user add alice` (observer in ROUTINE)."""
    path = tmp_path_factory.mktemp("site")
    config = default_config_text().replace(
        "[clock]\n", "[clock]\nstart = 2026-11-25T04:00:00Z\n", 1
    )
    (path / "pyros.toml").write_text(config)
    env = {**os.environ, "PYROS_ADMIN_PASSWORD": "admin-password-1"}
    assert pyros("init", cwd=path, env=env).returncode == 0
    env = {**os.environ, "PYROS_USER_PASSWORD": "night-sky-2026"}
    added = pyros(
        "user", "add", "alice", "--role", "observer", "--country", "Mexico",
        "--program", "ROUTINE", cwd=path, env=env,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip() == "user alice added: role observer, quota 10 h"
    return path


def _count_rows(folder) -> tuple[int, ...]:
    engine = create_engine(f"sqlite:///{folder / 'var' / 'pyros.db'}")
    try:
        with engine.connect() as connection:
            return tuple(
                connection.scalar(select(func.count()).select_from(model))
                for model in (Request, Sequence, Album, Plan)
            )
    finally:
        engine.dispose()


def test_submit_then_export_round_trips(folder):
    (folder / "r10.xml").write_bytes(example(10))
    result = pyros("submit", "r10.xml", "--user", "alice", cwd=folder)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("request ") and "3 sequence(s), 0.50 h" in result.stdout
    request_id = result.stdout.split()[1]

    exported = pyros("export", request_id, cwd=folder)
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout.encode() == request_to_xml(parse_request(example(10)).spec)
    (folder / "again.xml").write_text(exported.stdout)
    again = pyros("submit", "again.xml", "--user", "alice", cwd=folder)
    assert again.returncode == 0, again.stderr

    listing = pyros("user", "list", cwd=folder)
    assert "alice" in listing.stdout and "0.00+1.00/10.00" in listing.stdout


@pytest.mark.parametrize(
    ("data", "user", "message"),
    [
        (b"<request", "alice", "pyros: bad.xml line 1: not well-formed XML"),
        (
            variant(1, 'dec_deg="-5.3911"', 'dec_deg="100"'),
            "alice",
            "pyros: bad.xml line 5: sequences[0].dec_deg: must be >= -90 and <= 90 (got 100)",
        ),
        (example(1), "mallory", "pyros: bad.xml: user: unknown user 'mallory'"),
        (
            variant(1, 'program="ROUTINE"', 'program="GRB"'),
            "alice",
            "pyros: bad.xml line 3: program: 'alice' is not a member of program 'GRB'",
        ),
    ],
    ids=["not-xml", "dec-100", "unknown-user", "not-a-member"],
)
def test_bad_input_exits_2_with_one_line(folder, data, user, message):
    (folder / "bad.xml").write_bytes(data)
    before = _count_rows(folder)
    result = pyros("submit", "bad.xml", "--user", user, cwd=folder)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(message), result.stderr
    assert _count_rows(folder) == before


def test_export_of_an_unknown_request_exits_2(folder):
    result = pyros("export", "999", cwd=folder)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == "pyros: request_id: no request 999\n"


@pytest.mark.parametrize("request_id", ["99999999999999999999999", "0"])
def test_export_of_an_id_out_of_range_exits_2(folder, request_id):
    """Issue 18: an id beyond SQLite's integers printed an OverflowError traceback (exit 1)."""
    result = pyros("export", request_id, cwd=folder)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith(f"pyros: request_id: no request {request_id}")


def test_user_add_refuses_bad_input_in_one_line(folder):
    env = {**os.environ, "PYROS_USER_PASSWORD": "night-sky-2026"}
    for args, message in [
        (("--role", "astronaut"), "role: unknown role 'astronaut'"),
        (("--role", "pi", "--country", "Atlantis"), "country: unknown country 'Atlantis'"),
        (("--role", "pi", "--program", "NOPE"), "program: unknown scientific program 'NOPE'"),
    ]:
        result = pyros("user", "add", "bob", *args, cwd=folder, env=env)
        assert result.returncode == 2
        assert result.stderr.startswith(f"pyros: {message}"), result.stderr
        assert len(result.stderr.splitlines()) == 1
    assert "bob" not in pyros("user", "list", cwd=folder).stdout
