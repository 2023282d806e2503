"""`pyros alerts list/show/replay/strategies` as an operator types them (subprocesses)."""

from __future__ import annotations

import json
import os

import pytest

from orchestrator.alerts.manager import AlertManager, Arrival
from orchestrator.config import default_config_text, load_config
from orchestrator.runtime import Runtime
from tests.helpers import pyros
from tests.orchestrator.alerts.conftest import VOEVENTS, json_notice

SVOM = VOEVENTS / "svom__eclairs__eclairs_296.xml"
GRM = VOEVENTS / "svom__grm__grm_284.xml"


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """A site made by `pyros init`, its simulated clock at night (2026-11-25 04:00 UTC)."""
    path = tmp_path_factory.mktemp("site")
    config = default_config_text().replace(
        "[clock]\n", "[clock]\nstart = 2026-11-25T04:00:00Z\n", 1
    )
    (path / "pyros.toml").write_text(config)
    env = {**os.environ, "PYROS_ADMIN_PASSWORD": "admin-password-1"}
    assert pyros("init", cwd=path, env=env).returncode == 0
    return path


def test_strategies_lists_the_shipped_ones_and_dry_runs_files(folder):
    listed = pyros("alerts", "strategies", cwd=folder)
    assert listed.returncode == 0, listed.stderr
    names = [line.split()[0] for line in listed.stdout.splitlines()]
    assert names == ["ep-wxt", "fermi-gbm", "fermi-lat", "svom-eclairs", "svom-mxt", "swift-bat"]
    dry = pyros("alerts", "strategies", str(SVOM), str(GRM), cwd=folder)
    assert dry.returncode == 0, dry.stderr
    svom, grm = dry.stdout.splitlines()[:2]
    assert "record" in svom and "21600 s old" in svom  # February's notice, months ago
    assert "no_position" in grm and "time only" in grm
    fresh = pyros("alerts", "strategies", "--fresh", str(SVOM), cwd=folder)
    assert "OBSERVE: strategy svom-eclairs" in fresh.stdout
    assert "the request builder accepts it" in fresh.stdout


def test_list_and_show_print_decisions_and_the_latency_chain(folder):
    runtime = Runtime(load_config(folder / "pyros.toml"))
    got = AlertManager(runtime).handle(Arrival(json_notice(runtime, "CLI1"), "kafka", "t"))
    rejected = AlertManager(runtime).handle(Arrival(b"<oops", "folder", "bad.xml"))
    runtime.engine.dispose()
    listed = pyros("alerts", "list", "--since", "1h", cwd=folder)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[1].split()[0] == str(rejected.alert_id) and "rejected" in lines[1]
    assert lines[2].split()[0] == str(got.alert_id) and "EP:CLI1" in lines[2]
    shown = pyros("alerts", "show", str(got.alert_id), cwd=folder)
    assert shown.returncode == 0, shown.stderr
    assert "strategy ep-wxt" in shown.stdout and "observe " in shown.stdout
    for step in ("received", "parsed", "stored", "request", "schedule", "majordome"):
        assert f"    {step}" in shown.stdout
    assert "pipeline report: none yet: no image of the follow-up has been taken" in shown.stdout
    bad = pyros("alerts", "show", str(rejected.alert_id), "--payload", cwd=folder)
    assert "xml: malformed XML" in bad.stdout and "<oops" in bad.stdout
    assert "pipeline report: none: the alert has no position" in bad.stdout


def test_show_prints_the_pipelines_newest_report(folder):
    from orchestrator.pipeline.service import store_alert_report

    runtime = Runtime(load_config(folder / "pyros.toml"))
    got = AlertManager(runtime).handle(Arrival(json_notice(runtime, "CLI2"), "kafka", "t"))
    store_alert_report(runtime, got.alert_id)  # no image yet: an empty report
    newest = store_alert_report(runtime, got.alert_id)
    runtime.engine.dispose()
    shown = pyros("alerts", "show", str(got.alert_id), cwd=folder)
    assert shown.returncode == 0, shown.stderr
    assert f"  pipeline report {newest.id} (" in shown.stdout
    assert "0 image(s), 0 candidate detection(s)" in shown.stdout
    assert "    EP " in shown.stdout and "observed the error circle" in shown.stdout
    assert "No new source is detected inside the error circle" in shown.stdout


@pytest.mark.parametrize(
    "args, words",
    [
        (["show", "9999"], "ID: no alert 9999"),
        (["list", "--since", "yesterday"], "--since: must be like"),
        (["replay", str(SVOM), "--to", "pigeon"], "--to: must be folder"),
        (["replay", str(SVOM), str(GRM), "--at", "1"], "--at: needs 2 offsets"),
        (["replay", "missing.xml"], "missing.xml: cannot read"),
    ],
)
def test_bad_arguments_exit_2_naming_them(folder, args, words):
    done = pyros("alerts", *args, cwd=folder)
    assert done.returncode == 2
    assert words in done.stderr


def test_replay_to_the_folder_freshens_and_the_scenario_action_drops_files(folder):
    inbox = folder / "var" / "voevents"
    done = pyros("alerts", "replay", str(SVOM), str(GRM), "--at", "0,0.3", cwd=folder)
    assert done.returncode == 0, done.stderr
    written = (inbox / SVOM.name).read_text()
    assert 'ivorn="ivo://org.svom/fsc#sb26021102_eclairs-wakeup-r' in written
    assert "<ISOTime>2026-11-25T04:00:" in written
    assert (inbox / GRM.name).exists()
    scenario = folder / "scenario.json"
    (folder / "ep.json").write_bytes((VOEVENTS / "ep__alert__alert_247.json").read_bytes())
    scenario.write_text(
        json.dumps(
            [
                2,
                {"time": 0.2, "alertSimulator": "ep.json"},
                {"time": 0, "plcSimulator": {"device_name": "x"}},
            ]
        )
    )
    played = pyros("alerts", "replay", "--scenario", str(scenario), cwd=folder)
    assert played.returncode == 0, played.stderr
    assert "t=0.2 s: ep.json written" in played.stdout
    data = json.loads((inbox / "ep.json").read_text())
    assert data["id"][0].startswith("01709259773-r")
    assert data["trigger_time"].startswith("2026-11-25T04:00:")
