"""`pyros simulate` end to end: one short night at ×300 with the whole embedded system (device
simulator, PLC simulator, gateway, orchestrator, web) and a scenario — requests, an SVOM notice
that pre-empts the running sequence, the orchestrator killed mid-night (the supervisor restarts
it), a rain shower, a camera fault — then the night's database, logs and report are read back.

The night is short by choice of site, not by cutting corners: 58° N at midsummer with civil
twilight has 3.3 h of night, and the run spans 4.2 h of clock (dusk flats to dawn, darks and
bias), ~50 s of wall time at ×300 after ~20 s of start-up; a restart costs ~40 min of night.
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta

import pytest

from tests.conftest import TEST_DATA
from tests.helpers import free_port

SCENARIO = TEST_DATA / "scenarios" / "short_night"
SHORT_NIGHT_TOML = """
[site]
latitude_deg = 58.0
longitude_deg = 10.0
timezone = "Europe/Oslo"
twilight = "civil"

[safety]
reopen_delay_s = 300.0

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

[alerts]
strategies = "scenario/strategies"

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
    """What the night did, for a failure's message: the orchestrator's decisive log lines
    (starts, ends, pre-emptions, alerts, restarts), then the end of the run's output."""
    done, run, folder = night
    logs = "".join(p.read_text() for p in sorted((run / "logs").glob("orchestrator*.log")))
    keys = (" starts", "executed", "failed", "pre-empt", "alert", "lease", "recover", "-> ")
    lines = [
        line[11:260] for line in logs.splitlines()
        if " orchestrator." in line and any(k in line for k in keys)
    ]  # fmt: skip
    return "\n".join(lines[:100]) + "\n" + done.stdout[-1500:] + done.stderr[-1500:]


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
    # it stopped by itself after dawn (01:00 UTC): back to day, or at the hard end under load
    assert progress[-1] >= "simulate 2026-06-22 01:01", story(night)


def test_requests_executed_and_the_rain_closed_then_reopened(night):
    done, run, folder = night
    with sqlite3.connect(run / "pyros.db") as db:
        query = "SELECT count(*) FROM sequence WHERE status = 'EXECUTED'"
        executed = db.execute(query).fetchone()[0]
        exptimes = {row[0] for row in db.execute(
            "SELECT i.exposure_s FROM image i JOIN sequence s ON s.id = i.sequence_id "
            "WHERE i.image_type = 'light' AND NOT s.is_urgent")}  # fmt: skip
    assert executed >= 1, story(night)
    assert exptimes == {30.0}  # the nominal exposure, though the simulator took 1/300 of it
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


def facts(night) -> dict:
    done, run, folder = night
    (path,) = (folder / "report").glob("*.json")
    return json.loads(path.read_text())


def test_an_svom_notice_pre_empts_the_running_sequence_and_is_observed(night):
    done, run, folder = night
    with sqlite3.connect(run / "pyros.db") as db:
        alerts = db.execute("SELECT id, status, strategy, request_id FROM alert").fetchall()
        (alert_id, status, strategy, request_id), *others = alerts
        (sequence_id, sequence_status), *more = db.execute(
            "SELECT id, status FROM sequence WHERE request_id = ?", (request_id,)
        ).fetchall()
        frames = db.execute(
            "SELECT count(*) FROM image WHERE image_type = 'light' AND sequence_id = ?",
            (sequence_id,),
        ).fetchone()[0]
        notes = [n for (n,) in db.execute("SELECT notes FROM schedule WHERE trigger = 'alert'")]
        pool = dict(db.execute("SELECT id, status FROM sequence").fetchall())
    assert (others, more) == ([], []), story(night)
    assert (status, strategy) == ("observing", "svom-eclairs-short-night"), story(night)
    assert sequence_status == "EXECUTED" and frames >= 2, story(night)
    # the sequence running when the notice came was stopped for it and re-planned: the
    # observer logs the abort; the alert's full re-plan names it too when it still saw it
    # executing (the slew-first pre-emption often settles it before that re-plan reads)
    logs = "".join(p.read_text() for p in (run / "logs").glob("orchestrator*.log"))
    aborted = rf"sequence (\d+) failed \(pre-empted\): alert {alert_id}:"
    victims = {int(found) for found in re.findall(aborted, logs)} | {
        int(n.split("; sequence ")[1].split()[0]) for n in notes
        if f"pre-empted by urgent sequence {sequence_id}" in n
    }  # fmt: skip
    assert len(victims) == 1, story(night)
    (victim,) = victims
    assert victim != sequence_id and pool[victim] in ("EXECUTED", "PLANNED", "TO_BE_PLANNED")
    # the report lists the alert with its latency chain, from the notice to the slew
    (listed,) = facts(night)["alerts"]
    assert (listed["id"], listed["request_id"]) == (alert_id, request_id)
    steps = [step["step"] for step in listed["latency_chain"]]
    assert steps[0] == "received" and {"majordome", "slew"} <= set(steps), steps


def test_the_orchestrator_killed_mid_night_comes_back_and_loses_nothing(night):
    done, run, folder = night
    (killed,) = [
        int(line.split("pid ")[1].split()[0]) for line in done.stdout.splitlines()
        if "kill orchestrator: pid" in line
    ]  # fmt: skip
    logs = "".join(p.read_text() for p in (run / "logs").glob("orchestrator*.log"))
    # the new process took the lease from the killed one (released at the end of the run)
    assert f":{killed}:" in logs.split("orchestrator lease taken by ")[-1].split("\n")[0]
    recovered = [
        int(x) for line in logs.splitlines() if "recovered interrupted sequences: [" in line
        for x in line.split("[")[1].rstrip("]").split(", ")
    ]  # fmt: skip
    with sqlite3.connect(run / "pyros.db") as db:
        restart = db.execute(
            "SELECT id, time FROM majordome_history WHERE reason LIKE 'process start (was %' "
            "ORDER BY id"
        ).fetchall()
        beat = db.execute(
            "SELECT last_beat FROM job_heartbeat WHERE name = 'majordome'"
        ).fetchone()[0]
        after = [
            s
            for (s,) in db.execute(
                "SELECT to_state FROM majordome_history WHERE id > ? ORDER BY id", (restart[-1][0],)
            )
        ]
        statuses = dict(db.execute("SELECT id, status FROM sequence").fetchall())
        urgent = dict(db.execute("SELECT id, is_urgent FROM sequence").fetchall())
        requests = db.execute("SELECT count(*) FROM request").fetchone()[0]
        frames = db.execute(
            "SELECT i.sequence_id, i.plan_id, i.date_obs, i.exposure_s, s.status, "
            "s.status_changed FROM image i JOIN sequence s ON s.id = i.sequence_id "
            "WHERE i.image_type = 'light' ORDER BY i.date_obs"
        ).fetchall()
        triggers = [t for (t,) in db.execute("SELECT trigger FROM schedule ORDER BY id")]
    assert len(restart) == 1, story(night)  # observing when killed: back through startup
    assert beat > restart[-1][1]  # its jobs beat again
    assert "observing" in after, story(night)  # and the majordome observed again
    # nothing lost: the requests and the alert's, no sequence left running or failed
    assert requests == 6
    assert set(statuses.values()) <= {"EXECUTED", "PLANNED", "TO_BE_PLANNED", "UNPLANNABLE"}
    # the sequence it was executing (the alert's, unless the load delayed the alert past the
    # kill) went back to the pool and was planned again at once; the alert's goes first, so it
    # was executed; a routine one may wait for another night, still in the pool
    assert len(recovered) == 1, logs[-3000:]
    assert "sequence back in the pool" in triggers, story(night)
    if urgent[recovered[0]]:
        assert statuses[recovered[0]] == "EXECUTED", story(night)
    else:
        assert statuses[recovered[0]] != "FAILED", story(night)  # EXECUTED or in the pool
    # nothing executed twice: one camera frame at a time, no frame of a sequence after
    # it was executed, and no execution with more frames than the sequence asks for
    for (_, _, a, a_s, *_), (_, _, b, *_) in zip(frames, frames[1:], strict=False):
        assert at(a) + timedelta(seconds=a_s) <= at(b), (a, b)
    for sequence_id, _, date_obs, _, status, changed in frames:
        assert status != "EXECUTED" or at(date_obs) <= at(changed), (sequence_id, date_obs)
    for sequence in facts(night)["sequences"]:
        runs = sequence["executed"]
        assert all(run["frames"] <= sequence["frames_planned"] for run in runs), sequence


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)
