"""`[telescope]` and `--telescope NAME`: validated once, one orchestrator lease per telescope."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from click.testing import CliRunner

from orchestrator.cli import cli
from orchestrator.config import default_config_text, parse_config, with_telescope
from orchestrator.errors import ConfigError
from orchestrator.lease import Lease, LeaseHeld, lease_name
from orchestrator.supervisor import embedded_processes


def test_a_bad_telescope_name_is_refused_naming_the_key(tmp_path):
    text = default_config_text().replace('name = "main"', 'name = "east wing"', 1)
    with pytest.raises(ConfigError) as info:
        parse_config(text, tmp_path)
    assert "telescope.name" in str(info.value) and "'east wing'" in str(info.value)
    config = parse_config(default_config_text(), tmp_path)
    with pytest.raises(ConfigError) as info:
        with_telescope(config, "-x")
    assert "--telescope" in str(info.value)


def test_the_flag_is_refused_with_exit_2_before_anything_starts(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["start", "--telescope", "no/slash"])
    assert result.exit_code == 2
    assert "--telescope" in result.output and "no/slash" in result.output
    assert not (tmp_path / "var").exists()  # nothing started, nothing written


def test_pyros_start_hands_the_telescope_to_its_orchestrator(tmp_path):
    config = with_telescope(parse_config(default_config_text(), tmp_path), "west")
    (spec,) = [s for s in embedded_processes(config) if s.name == "orchestrator"]
    assert spec.argv == ("orchestrator", "--telescope", "west")
    default = parse_config(default_config_text(), tmp_path)
    (spec,) = [s for s in embedded_processes(default) if s.name == "orchestrator"]
    assert spec.argv == ("orchestrator",)


def test_one_orchestrator_per_telescope_per_database(runtime):
    now = lambda: datetime(2026, 11, 25, 12, tzinfo=UTC)  # noqa: E731
    assert lease_name("main") == "orchestrator"
    east = Lease(runtime.sessions, name=lease_name("east"), now=now)
    west = Lease(runtime.sessions, name=lease_name("west"), now=now)
    east.acquire()
    west.acquire()  # another telescope of the network: both run
    again = Lease(runtime.sessions, name=lease_name("east"), now=now)
    with pytest.raises(LeaseHeld) as info:
        again.acquire()
    assert "orchestrator:east" in str(info.value)
