"""Scenarios of `pyros simulate`: every bad entry refused before anything starts, naming the
entry and the field (exit 2); the seed's conf.json accepted as is."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from orchestrator.cli import cli
from orchestrator.config import parse_config
from simulators import night_scenario as ns
from tests.conftest import TEST_DATA

REQUEST = "routine_request_01.xml"  # shipped in simulators/resources: found without a path


@pytest.fixture
def site(tmp_path) -> Path:
    config = tmp_path / "pyros.toml"
    config.write_text('[folders]\ndata = "var"\n[web]\nport = 1\n')
    (tmp_path / "notice.xml").write_text("<voe/>")
    return config


def test_the_seed_conf_json_is_accepted_unchanged():
    config = parse_config("", Path("."))
    scenario = ns.load_night_scenario(TEST_DATA / "scenarios" / "conf.json", config)
    assert scenario.length_s == 200
    assert scenario.count(ns.USER) == 10 and scenario.count(ns.PLC) == 4
    users = [e for e in scenario.entries if e.action == ns.USER]
    assert all(e.value.is_file() for e in users)  # the shipped routine requests
    assert [e.time_s for e in scenario.entries] == sorted(e.time_s for e in scenario.entries)


def test_new_actions_are_checked_into_values(tmp_path):
    config = parse_config("", Path("."))
    (tmp_path / "n.xml").write_text("<voe/>")
    data = [
        60,
        {"time": 5, "deviceFault": {"role": "camera_vis", "fault": "timeout", "for_s": 3}},
        {"time": 6, "kill": "orchestrator"},
        {"time": 7, "operator": {"command": "pause"}},
        {"time": 8, "alertSimulator": "n.xml"},
    ]
    entries = ns.parse_night_scenario(data, tmp_path, config).entries
    fault = entries[0].value
    assert (fault.device_type, fault.device_number, fault.for_s) == ("camera", 0, 3.0)
    assert entries[1].value == "orchestrator"
    assert entries[2].value == ns.OperatorCommand("pause", {})
    assert entries[3].value == tmp_path / "n.xml"


BAD = [
    ([10, {"time": 1, "weatherSimulator": {}}], "scenario[1].weatherSimulator", "unknown action"),
    ([10, {"time": 1, "userSimulator": "nowhere.xml"}], "scenario[1].userSimulator", "not found"),
    ([10, {"time": 2, "alertSimulator": "missing.xml"}], "scenario[1].alertSimulator", "not found"),
    (
        [10, {"time": 1, "userSimulator": REQUEST}, {"time": 11, "kill": "web"}],
        "scenario[2].time",
        "beyond the scenario's length",
    ),  # fmt: skip
    (
        [10, {"time": 1, "deviceFault": {"role": "camera_uv", "fault": "error", "for_s": 5}}],
        "scenario[1].deviceFault.role",
        "no device has role",
    ),  # fmt: skip
    (
        [10, {"time": 1, "deviceFault": {"role": "camera_vis", "fault": "melt", "for_s": 5}}],
        "scenario[1].deviceFault.fault",
        "unknown fault",
    ),  # fmt: skip
    (
        [10, {"time": 1, "deviceFault": {"role": "camera_vis", "fault": "error", "for_s": -5}}],
        "scenario[1].deviceFault.for_s",
        "> 0",
    ),  # fmt: skip
    (
        [10, {"time": 1, "deviceFault": {"role": "dome", "fault": "error", "for_s": 5, "x": 1}}],
        "scenario[1].deviceFault.x",
        "unknown field",
    ),  # fmt: skip
    (
        [10, {"time": 1, "deviceFault": {"role": "dome", "fault": "error"}}],
        "scenario[1].deviceFault.for_s",
        "required",
    ),  # fmt: skip
    ([10, {"time": 1, "kill": "pipeline"}], "scenario[1].kill", "must be one of"),
    (
        [10, {"time": 1, "operator": {"command": "dance"}}],
        "scenario[1].operator.command",
        "unknown command",
    ),  # fmt: skip
    (
        [10, {"time": 1, "plcSimulator": {"device_name": "Nope", "valid": "no"}}],
        "scenario[1].plcSimulator.device_name",
        "no device named",
    ),  # fmt: skip
    ([10, {"time": "soon", "kill": "web"}], "scenario[1].time", "seconds"),
]


@pytest.mark.parametrize(("data", "field", "reason"), BAD)
def test_a_bad_scenario_is_refused_before_anything_starts(tmp_path, site, data, field, reason):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    result = CliRunner().invoke(cli, ["--config", str(site), "simulate", str(path)])
    assert result.exit_code == 2, result.output
    assert f"{field}: " in result.output and reason in result.output
    assert len(result.output.strip().splitlines()) == 1  # one line
    assert not (tmp_path / "var").exists()  # no run folder, no database, no process


def test_a_night_without_darkness_is_refused(tmp_path):
    config = tmp_path / "pyros.toml"
    config.write_text('[site]\nlatitude_deg = 70.0\ntimezone = "Europe/Oslo"\n')
    result = CliRunner().invoke(cli, ["--config", str(config), "simulate", "--night", "2026-06-21"])
    assert result.exit_code == 2 and "--night: the Sun does not reach" in result.output
    result = CliRunner().invoke(cli, ["--config", str(config), "simulate", "--night", "21/06"])
    assert result.exit_code == 2 and "YYYY-MM-DD" in result.output
