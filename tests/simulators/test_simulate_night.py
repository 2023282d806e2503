"""`pyros simulate` end to end: a short night at ×300 with the whole embedded system (device
simulator, PLC simulator, gateway, orchestrator, web) and a small scenario — requests, a rain
shower, a camera fault — then the night's database and report are read back.

The night is short by choice of site, not by cutting corners: 60° N at midsummer with civil
twilight has 1.6 h of night, and the run spans 3 h of clock (dusk flats to dawn, darks and
bias), ~36 s of wall time at ×300 after ~30 s of start-up.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys

import pytest

from tests.conftest import TEST_DATA
from tests.helpers import free_port

SCENARIO = TEST_DATA / "scenarios" / "short_night"
SHORT_NIGHT_TOML = """
[site]
latitude_deg = 60.0
longitude_deg = 10.0
timezone = "Europe/Oslo"
twilight = "civil"

[calibrations]
sun_alt_max_deg = -5.0
sun_alt_min_deg = -6.0
bias_count = 3
dark_count = 3
flat_count = 3

[folders]
data = "var"

[web]
port = {web_port}

[pipeline]
enabled = false

[devices]
camera_nir = false
filterwheel_nir = false
"""


@pytest.fixture(scope="module")
def night(tmp_path_factory):
    folder = tmp_path_factory.mktemp("night")
    shutil.copytree(SCENARIO, folder / "scenario")
    config = folder / "pyros.toml"
    config.write_text(SHORT_NIGHT_TOML.replace("{web_port}", str(free_port())))
    argv = [
        *(sys.executable, "-m", "orchestrator.cli", "--config", str(config), "simulate"),
        *(str(folder / "scenario" / "scenario.json"), "--night", "2026-06-21", "--speed", "300"),
        *("--progress-every", "2", "--report", str(folder / "report")),
    ]
    done = subprocess.run(argv, capture_output=True, text=True, cwd=folder, timeout=300)
    (run,) = (folder / "var" / "simulate").iterdir()
    return done, run, folder


def story(night) -> str:
    """What the night did, for a failure's message: the report and the end of the output."""
    done, run, folder = night
    reports = list((folder / "report").glob("*.json")) if (folder / "report").exists() else []
    return "".join(p.read_text() for p in reports) + done.stdout[-2000:] + done.stderr[-2000:]


def history(run) -> list[tuple[str, str]]:
    with sqlite3.connect(run / "pyros.db") as db:
        return db.execute("SELECT to_state, reason FROM majordome_history ORDER BY id").fetchall()


def test_the_night_runs_by_itself_to_the_end(night):
    done, run, folder = night
    assert done.returncode == 0, story(night)
    progress = [line for line in done.stdout.splitlines() if line.startswith("simulate 2026-06-2")]
    assert len(progress) >= 3 and all("| majordome " in line for line in progress)
    assert "sequences" in progress[-1] and "unsafe" in progress[-1]
    assert "night over" in done.stdout
    # it stopped by itself after dawn (00:09 UTC): back to day, or at the hard end under load
    assert progress[-1] >= "simulate 2026-06-22 00:10", story(night)


def test_requests_executed_and_the_rain_closed_then_reopened(night):
    done, run, folder = night
    with sqlite3.connect(run / "pyros.db") as db:
        query = "SELECT count(*) FROM sequence WHERE status = 'EXECUTED'"
        executed = db.execute(query).fetchone()[0]
        exptimes = {row[0] for row in db.execute(
            "SELECT exposure_s FROM image WHERE image_type = 'light'")}  # fmt: skip
    assert executed >= 1, story(night)
    assert exptimes == {30.0}  # the nominal exposure, though the simulator took 1/400 of it
    moves = history(run)
    rain = next(i for i, (s, r) in enumerate(moves) if s == "closed_weather")
    assert any(s == "observing" for s, _ in moves[rain:]), story(night)  # reopened


def test_a_camera_fault_goes_safe_recovers_and_is_reported(night):
    done, run, folder = night
    moves = history(run)
    fault = next(i for i, (s, r) in enumerate(moves) if s == "error" and "camera_vis" in r)
    assert moves[fault - 1][0] == "closing"  # closed and parked before the error state
    assert any(s == "observing" for s, _ in moves[fault:]), story(night)  # observed again
    reports = sorted(p.suffix for p in (folder / "report").iterdir())
    assert reports == [".html", ".json"]
    (facts,) = [json.loads(p.read_text()) for p in (folder / "report").glob("*.json")]
    text = json.dumps(facts)  # the faults and the timeline, wherever the report puts them
    assert "simulated device fault" in text and "closed_weather" in text
