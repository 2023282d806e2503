"""`pyros init && pyros status` in an empty folder, as an operator would type them."""

from __future__ import annotations

import json
import os

from sqlalchemy import create_engine, select
from werkzeug.security import check_password_hash

from orchestrator import db
from orchestrator.model import User
from tests.helpers import pyros


def test_init_then_status_in_an_empty_folder(tmp_path):
    result = pyros("init", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "created user 'admin' with password: " in result.stdout
    password = result.stdout.split("password: ")[1].split()[0]
    engine = create_engine(f"sqlite:///{tmp_path / 'var' / 'pyros.db'}")
    with engine.connect() as connection:
        admin = connection.execute(select(User).where(User.username == "admin")).one()
        assert check_password_hash(admin.password_hash, password)

    status = pyros("status", cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    database = next(line for line in status.stdout.splitlines() if line.startswith("Database"))
    assert database.endswith(f"revision {db.head_revision()}  ok"), database
    assert "UNSAFE" in status.stdout  # no weather data yet: unsafe, never safe by default
    assert "mount" in status.stdout

    data = json.loads(pyros("status", "--json", cwd=tmp_path).stdout)
    assert data["database"]["ok"] is True
    assert data["safety"]["is_safe"] is False


def test_init_is_idempotent_and_takes_the_password_from_the_environment(tmp_path):
    env = {**os.environ, "PYROS_ADMIN_PASSWORD": "s3cret-night"}
    first = pyros("init", cwd=tmp_path, env=env)
    assert first.returncode == 0, first.stderr
    assert "s3cret-night" not in first.stdout
    second = pyros("init", cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert "password" not in second.stdout  # the admin exists: nothing generated, nothing shown
    engine = create_engine(f"sqlite:///{tmp_path / 'var' / 'pyros.db'}")
    with engine.connect() as connection:
        admins = connection.execute(select(User).where(User.username == "admin")).all()
    assert len(admins) == 1
    assert check_password_hash(admins[0].password_hash, "s3cret-night")


def test_status_before_init_says_what_to_do(tmp_path):
    result = pyros("status", cwd=tmp_path)
    assert result.returncode == 1  # a script or a monitor sees that nothing runs here yet
    assert "pyros init" in result.stdout
    assert "UNSAFE" in result.stdout


def _all_commands(group, path=()):
    import click

    for name, command in group.commands.items():
        yield (*path, name)
        if isinstance(command, click.Group):
            yield from _all_commands(command, (*path, name))


def test_every_command_has_help():
    from click.testing import CliRunner

    from orchestrator.cli import cli

    paths = list(_all_commands(cli))
    assert ("init",) in paths and ("status",) in paths and ("start",) in paths
    for path in paths:
        result = CliRunner().invoke(cli, [*path, "--help"])
        assert result.exit_code == 0 and "Usage: " in result.output, path
        assert " ".join(path) in result.output, path


def test_admin_belongs_to_the_site_country_and_quiet_commands_leave_no_log_file(tmp_path):
    from orchestrator.model import Country

    assert pyros("init", cwd=tmp_path).returncode == 0
    engine = create_engine(f"sqlite:///{tmp_path / 'var' / 'pyros.db'}")
    with engine.connect() as connection:
        country = connection.execute(
            select(Country.name).join(User, User.country_id == Country.id).where(
                User.username == "admin"
            )
        ).scalar_one()
    assert country == "Mexico"  # the shipped site's [site] country
    logs = tmp_path / "var" / "logs"
    before = {p.name for p in logs.glob("*.log")} if logs.exists() else set()
    assert pyros("status", cwd=tmp_path).returncode == 0  # reads, logs nothing
    after = {p.name for p in logs.glob("*.log")} if logs.exists() else set()
    assert after == before
    assert all(p.stat().st_size > 0 for p in logs.glob("*.log"))  # no empty log file
