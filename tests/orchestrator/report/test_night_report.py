"""The night report on a night built row by row: facts, HTML, JSON, CLI and the end-of-night
hook. One SQLite database and one report for the module (the plots take a second)."""

from __future__ import annotations

import json
import re
import sqlite3
import types
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from click.testing import CliRunner

from orchestrator import db
from orchestrator.cli import cli
from orchestrator.clock import ManualClock
from orchestrator.config import with_telescope
from orchestrator.majordome.states import State, StateStore
from orchestrator.observer.fits import Exposure, save_image
from orchestrator.report import last_night, night_facts, write_after_night, write_night_report
from orchestrator.runtime import Runtime
from tests.conftest import make_runtime
from tests.helpers import wait_for
from tests.orchestrator.report.night_rows import HOLE, MIN, NIGHT, RAIN, build_night


@pytest.fixture(scope="module")
def night_db(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("night")
    clock = ManualClock(datetime(2026, 11, 25, 16, 0, tzinfo=UTC))  # the morning after
    rt = make_runtime(tmp, clock, f"sqlite:///{tmp / 'pyros.db'}")
    db.upgrade(rt.engine)
    rows = build_night(rt)
    html_path, json_path = write_night_report(rt, NIGHT, tmp / "reports")
    yield types.SimpleNamespace(
        runtime=rt,
        rows=rows,
        html_path=html_path,
        json_path=json_path,
        tmp=tmp,
        facts=json.loads(json_path.read_text()),
    )
    rt.engine.dispose()


def _t(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_the_files_are_named_after_the_night_and_the_json_is_the_facts(night_db):
    assert night_db.html_path.name == "night-2026-11-24.html"
    assert night_db.json_path.name == "night-2026-11-24.json"
    assert night_db.facts == night_facts(night_db.runtime, NIGHT)
    assert night_db.facts["window"]["start"] == night_db.rows.start.isoformat()


def test_the_timeline_is_in_time_order_from_the_state_at_sunset(night_db):
    timeline = night_db.facts["timeline"]
    assert timeline["initial_state"] == "day"
    times = [_t(t["time"]) for t in timeline["transitions"]]
    assert times == sorted(times)
    assert [t["to"] for t in timeline["transitions"]][:4] == [
        "night_waiting",
        "opening",
        "observing",
        "closing",
    ]
    rain = next(t for t in timeline["transitions"] if t["to"] == "closed_weather")
    assert (rain["reason"], rain["duration_s"]) == ("weather: rain", 59 * 60.0)
    assert timeline["state_s"]["error"] == 300.0


def test_the_rain_and_the_missing_weather_are_the_unsafe_periods(night_db):
    dusk = night_db.rows.dusk
    periods = night_db.facts["weather"]["unsafe_periods"]
    spans = [(_t(p["start"]), _t(p["end"])) for p in periods]
    assert spans == [
        (dusk + RAIN[0] * MIN, dusk + RAIN[1] * MIN),
        (dusk + (HOLE[0] + 2) * MIN, dusk + HOLE[1] * MIN),  # a row holds 2 history periods
    ]
    assert periods[0]["reasons"] == ["rain_rate: 1.2 mm/h > 0"]
    assert periods[1]["reasons"] == ["no weather data"]


def test_efficiency_is_science_shutter_time_over_safe_dark_time(night_db):
    rows, e = night_db.rows, night_db.facts["efficiency"]
    dark_s = (rows.dawn - rows.dusk).total_seconds()
    dark_safe_s = dark_s - (RAIN[1] - RAIN[0]) * 60 - (HOLE[1] - HOLE[0] - 2) * 60
    assert e["dark_s"] == dark_s
    assert e["dark_safe_s"] == dark_safe_s
    # VIS 10-13 and NIR 10-12 overlap (180 s), M42 118-119 (60 s); the frame in the rain is out
    assert e["science_open_s"] == 240.0
    assert e["science_open_total_s"] == 300.0
    assert e["efficiency"] == pytest.approx(240.0 / dark_safe_s)


def test_images_are_counted_per_type_and_filter(night_db):
    images = night_db.facts["images"]
    assert images["by_type"] == {"bias": 2, "dark": 2, "flat": 3, "light": 7}
    assert [(s["channel"], s["filter"], s["count"]) for s in images["science"]] == [
        ("NIR", "J", 2),
        ("VIS", "r", 5),
    ]
    assert [(p["channel"], p["filter"]) for p in images["previews"]] == [("NIR", "J"), ("VIS", "r")]
    calibrations = night_db.facts["calibrations"]["frames"]
    assert [(c["type"], c["count"]) for c in calibrations] == [
        ("bias", 2),
        ("dark", 2),
        ("flat", 3),
    ]


def test_sequences_planned_versus_executed_with_outcomes(night_db):
    rows = night_db.rows
    by_id = {s["id"]: s for s in night_db.facts["sequences"]}
    done, failed, idle = (
        by_id[rows.executed_id],
        by_id[rows.weather_failed_id],
        by_id[rows.unobserved_id],
    )
    assert (done["outcome"], done["frames_taken"], done["frames_planned"]) == ("executed", 5, 6)
    assert done["planned"]["schedule_id"] == rows.schedule_ids[0]
    assert done["executed"] == [
        {
            "start": (rows.dusk + 10 * MIN).isoformat(),
            "end": (rows.dusk + 13 * MIN).isoformat(),
            "frames": 5,
        }
    ]
    assert (failed["outcome"], failed["reason"]) == ("failed, back to the pool", "weather: rain")
    # the slot of the schedule made before it started (the re-plan), not the first one
    assert failed["planned"]["schedule_id"] == rows.schedule_ids[1]
    assert (idle["outcome"], idle["executed"]) == ("not observed", [])
    assert [s["trigger"] for s in night_db.facts["schedule"]["schedules"]] == [
        "new night",
        "sequence ended",
    ]


def test_alerts_quota_and_faults(night_db):
    (alert,) = night_db.facts["alerts"]
    assert [c["step"] for c in alert["latency_chain"]] == [
        "received",
        "parsed",
        "stored",
        "request",
        "schedule",
        "majordome",
        "slew",
    ]
    assert alert["latency_chain"][-1]["ms"] == 410.0
    assert alert["decisions"][0]["action"] == "observe"
    assert (alert["error_box"]["images"], alert["error_box"]["candidates"]) == (5, 1)
    (grb,) = night_db.facts["quota"]
    assert (grb["program"], grb["sequences"], grb["hours"]) == ("GRB", 1, 0.25)
    faults = night_db.facts["faults"]
    error = next(f for f in faults if f["source"] == "majordome")
    assert (error["message"], error["down_s"], error["recovery"]) == (
        "camera_vis: expose: timeout",
        300.0,
        "leaving error",
    )
    assert any(f["source"] == "log WARNING devices" for f in faults)


def test_the_html_is_self_contained_with_plots_and_previews(night_db):
    page = night_db.html_path.read_text()
    for external in ("http:", "https:", 'src="/', "<link", "<script", "url("):
        assert external not in page, external
    sources = re.findall(r'src="([^"]*)"', page)
    assert sources and all(s.startswith("data:image/png;base64,") for s in sources)
    assert page.count('class="preview"') == 2
    assert page.count('class="plot"') == 3  # timeline, weather, Gantt
    assert "camera_vis: expose: timeout" in page and "SVOM" in page


def test_pyros_report_rebuilds_a_night_and_refuses_a_bad_one(night_db, tmp_path):
    config = tmp_path / "pyros.toml"
    db_url = night_db.runtime.config.database.url
    from orchestrator.config import default_config_text

    text = default_config_text().replace('url = "sqlite:///var/pyros.db"', f'url = "{db_url}"')
    assert db_url in text
    config.write_text(text)
    runner = CliRunner()
    for bad in ("2026-13-45", "yesterday", "2026-11-24x", "2099-01-01"):  # last: not begun
        result = runner.invoke(cli, ["--config", str(config), "report", bad])
        assert result.exit_code == 2, result.output
        assert "NIGHT" in result.output
    empty = tmp_path / "empty.toml"
    empty.write_text(text.replace(db_url, f"sqlite:///{tmp_path / 'empty.db'}"))
    result = runner.invoke(cli, ["--config", str(empty), "report", "2026-11-24"])
    assert result.exit_code == 1 and "not initialised" in result.output, result.output
    out = tmp_path / "out"
    result = runner.invoke(
        cli, ["--config", str(config), "report", "2026-11-24", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    rebuilt = json.loads((out / "night-2026-11-24.json").read_text())
    assert rebuilt["efficiency"] == night_db.facts["efficiency"]


def test_the_end_of_night_hook_writes_once_and_a_failure_never_raises(night_db, tmp_path, caplog):
    from orchestrator.devices.registry import Devices
    from orchestrator.majordome import tick
    from orchestrator.majordome.core import Majordome

    after_darks = ManualClock(night_db.rows.dawn + 20 * MIN)
    rt = make_runtime(tmp_path, after_darks, night_db.runtime.config.database.url)
    majordome = Majordome(rt, Devices(), observer=None)
    majordome.store.move(State.DARKS_BIAS, "night over", force=True)
    majordome._done.add(("darks_bias", NIGHT))
    report = rt.config.folders.reports / "night-2026-11-24.html"
    assert not report.exists()
    tick.darks_bias(majordome)  # the darks are done: day, and the report is written
    assert majordome.store.state == State.DAY
    wait_for(report.exists, 30, what="the night report")
    assert tick.night_report_once(majordome, NIGHT) is None  # once per night
    # a reports folder that cannot be made: logged, nothing raised
    blocked = rt.config.model_copy(
        update={"folders": rt.config.folders.model_copy(update={"reports": report})}
    )
    broken = types.SimpleNamespace(config=blocked, clock=rt.clock, sessions=rt.sessions)
    assert write_after_night(broken, NIGHT) is None
    assert "night report of 2026-11-24 not written" in caplog.text


def test_last_night_is_the_latest_whose_sunrise_has_passed(night_db):
    config, rows = night_db.runtime.config, night_db.rows
    assert last_night(config, rows.end + 10 * MIN) == NIGHT  # just after sunrise
    assert last_night(config, rows.end + 6 * 60 * MIN) == NIGHT  # that afternoon
    assert last_night(config, rows.dusk + 60 * MIN) == NIGHT - timedelta(days=1)  # still dark


@pytest.mark.postgres
def test_the_same_night_on_postgresql_gives_the_same_facts(night_db, postgres, tmp_path):
    clock = ManualClock(datetime(2026, 11, 25, 16, 0, tzinfo=UTC))
    rt = make_runtime(tmp_path, clock, postgres.create_database("pyros_test_report"))
    db.upgrade(rt.engine)
    try:
        build_night(rt)
        facts = night_facts(rt, NIGHT)
    finally:
        rt.engine.dispose()

    def without_paths(f: dict) -> dict:  # the FITS files live under each runtime's folder
        f = json.loads(json.dumps(f))
        for preview in f["images"]["previews"]:
            preview.pop("path")
        return f

    assert without_paths(facts) == without_paths(night_db.facts)


def test_the_operator_report_command_writes_the_text_and_the_night_report(night_db, tmp_path):
    from orchestrator.devices.registry import Devices
    from orchestrator.majordome.commands import CommandRunner
    from orchestrator.majordome.core import Majordome

    afternoon = ManualClock(night_db.rows.end + 4 * 60 * MIN)  # last night, not the coming one
    rt = make_runtime(tmp_path, afternoon, night_db.runtime.config.database.url)
    answer = CommandRunner(Majordome(rt, Devices(), observer=None))._report({}, "operator")
    html_path = rt.config.folders.reports / "night-2026-11-24.html"
    assert str(html_path) in answer and html_path.exists()
    assert "night-report-" in answer  # the short text summary too


def test_in_a_network_each_telescope_reports_its_own_frames_and_sequences(night_db, tmp_path):
    """Two telescopes on one database: west took one frame of the sequence main never
    observed. Main's report stays as it was; west's has that frame and that sequence only
    (the report used to count every telescope's frames and sequences)."""
    with sqlite3.connect(night_db.tmp / "pyros.db") as source:  # the WAL's pages too
        with sqlite3.connect(tmp_path / "pyros.db") as copy:
            source.backup(copy)
    clock = ManualClock(datetime(2026, 11, 25, 16, 0, tzinfo=UTC))
    main = make_runtime(tmp_path / "main", clock, f"sqlite:///{tmp_path / 'pyros.db'}")
    west = Runtime(with_telescope(main.config, "west"), clock)
    try:
        StateStore(west).move(State.NIGHT_WAITING, "night")  # west's own majordome row
        unobserved = night_db.rows.unobserved_id
        save_image(
            west,
            np.full((32, 32), 1000.0),
            Exposure(
                channel="VIS",
                image_type="light",
                date_obs=night_db.rows.dusk + 200 * MIN,
                exposure_s=60.0,
                filter_name="r",
                object_name="west's frame",
                sequence_id=unobserved,
            ),
        )
        mine, theirs = night_facts(main, NIGHT), night_facts(west, NIGHT)
    finally:
        main.engine.dispose()
        west.engine.dispose()
    assert (mine["telescope"], theirs["telescope"]) == ("main", "west")
    assert mine["images"] == night_db.facts["images"]
    assert mine["sequences"] == night_db.facts["sequences"]
    assert theirs["images"]["science"] == [
        {"channel": "VIS", "filter": "r", "count": 1, "exposure_s": 60.0}
    ]
    (sequence,) = theirs["sequences"]
    assert (sequence["id"], sequence["frames_taken"]) == (unobserved, 1)
    assert theirs["schedule"]["schedules"] == [] and theirs["quota"] == []
