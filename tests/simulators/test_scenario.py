"""Scenario files in the seed's format: parsing, validation, timing on the clock."""

from __future__ import annotations

from datetime import timedelta

import pytest

from orchestrator.errors import InputError
from simulators.scenario import ScenarioPlayer, load_scenario, parse_scenario
from tests.conftest import TEST_DATA


def test_seed_scenarios_load():
    plc = load_scenario(TEST_DATA / "scenarios" / "scenario_plc.json")
    assert plc.length_s == 10 and len(plc.events) == 4
    assert plc.events[0].simulator == "plcSimulator" and plc.events[0].time_s == 3
    conf = load_scenario(TEST_DATA / "scenarios" / "conf.json")
    assert len(conf.for_simulator("plcSimulator").events) == 4
    assert len(conf.for_simulator("userSimulator").events) == 10


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({}, "scenario"),
        ([], "scenario"),
        ([-1], "scenario[0]"),
        (["10"], "scenario[0]"),
        ([10, {"plcSimulator": {}}], "scenario[1]"),
        ([10, {"time": -2, "plcSimulator": {}}], "scenario[1].time"),
        ([10, {"time": 1}], "scenario[1]"),
        ([10, {"time": 1, "a": 1, "b": 2}], "scenario[1]"),
    ],
)
def test_bad_scenarios_name_the_element(data, field):
    with pytest.raises(InputError) as err:
        parse_scenario(data)
    assert err.value.field == field


def test_unreadable_and_invalid_files(tmp_path):
    with pytest.raises(InputError, match="cannot read"):
        load_scenario(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("[10, {")
    with pytest.raises(InputError, match="invalid JSON"):
        load_scenario(bad)


def test_player_hands_out_events_once_in_time(clock):
    scenario = load_scenario(TEST_DATA / "scenarios" / "scenario_plc.json")
    player = ScenarioPlayer(scenario, clock.now())
    assert player.due(clock.now() + timedelta(seconds=2.9)) == []
    assert len(player.due(clock.now() + timedelta(seconds=3))) == 2
    assert player.due(clock.now() + timedelta(seconds=5)) == []
    assert len(player.due(clock.now() + timedelta(seconds=100))) == 2
    assert player.finished(clock.now() + timedelta(seconds=10))
