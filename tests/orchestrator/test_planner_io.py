"""`pyros plan`: the offline JSON interface, its validation, and what it writes."""

from __future__ import annotations

import json

import pytest

from orchestrator.config import default_config_text
from orchestrator.errors import InputError
from orchestrator.planner.io import parse_input
from tests.helpers import pyros

GOOD = {
    "night": "2026-11-24",
    "sequences": [
        {"id": "m31", "ra_deg": 10.6847, "dec_deg": 41.269, "duration_s": 3600, "priority": 5,
         "max_airmass": 2.0, "min_moon_separation_deg": 20},
        {"id": "orion", "ra_deg": 83.82, "dec_deg": -5.39, "duration_s": 1800, "priority": 3,
         "preferred_time": "2026-11-25T08:00:00Z"},
        {"id": "south", "ra_deg": 83.63, "dec_deg": -80, "duration_s": 1200, "priority": 3},
        {"id": "late", "ra_deg": 150.0, "dec_deg": 20.0, "duration_s": 1200, "priority": 1,
         "window_start": "2026-11-25T10:00:00Z", "window_end": "2026-11-25T12:00:00Z",
         "twilight": "astronomical", "filters": ["r", "i"], "urgent": False},
    ],
}  # fmt: skip


def test_plan_writes_a_sorted_schedule_with_reasons(tmp_path):
    (tmp_path / "in.json").write_text(json.dumps(GOOD))
    run = pyros("plan", "--input", "in.json", "--output", "out.json", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    out = json.loads((tmp_path / "out.json").read_text())
    assert out["night"] == "2026-11-24"
    ids = [e["id"] for e in out["entries"]]
    assert sorted(ids) == ["late", "m31", "orion"]
    starts = [e["start"] for e in out["entries"]]
    assert starts == sorted(starts)
    orion = next(e for e in out["entries"] if e["id"] == "orion")
    assert (orion["start"], orion["end"]) == ("2026-11-25T07:45:00Z", "2026-11-25T08:15:00Z")
    assert out["unscheduled"] == [
        {
            "id": "south",
            "reason": "never up: not above 30.0 deg for 1200 s in tonight's nautical night",
        }
    ]
    assert out["score"] == pytest.approx(5 * 1 + 3 * 0.5 + 1 * 1200 / 3600)


def test_the_input_site_replaces_the_configured_one(tmp_path):
    # From La Silla (29 S) the southern target is up; from COLIBRI it never is.
    doc = {**GOOD, "site": {"latitude_deg": -29.2567, "longitude_deg": -70.73, "elevation_m": 2400}}
    (tmp_path / "in.json").write_text(json.dumps(doc))
    run = pyros("plan", "--input", "in.json", "--output", "out.json", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    out = json.loads((tmp_path / "out.json").read_text())
    assert "south" in [e["id"] for e in out["entries"]]


def test_a_bad_sequence_exits_2_names_id_and_field_and_writes_nothing(tmp_path):
    doc = json.loads(json.dumps(GOOD))
    doc["sequences"][1]["dec_deg"] = 95
    (tmp_path / "in.json").write_text(json.dumps(doc))
    run = pyros("plan", "--input", "in.json", "--output", "out.json", cwd=tmp_path)
    assert run.returncode == 2
    assert (
        run.stderr.strip() == "pyros: sequence 'orion'.dec_deg: must be between -90 and 90 (got 95)"
    )
    assert not (tmp_path / "out.json").exists()


def test_the_config_site_is_used(tmp_path):
    text = default_config_text().replace("latitude_deg = 31.0442", "latitude_deg = -29.2567")
    (tmp_path / "south.toml").write_text(text)
    (tmp_path / "in.json").write_text(json.dumps(GOOD))
    run = pyros(
        "plan", "--input", "in.json", "--output", "out.json", "--config", "south.toml", cwd=tmp_path
    )
    assert run.returncode == 0, run.stderr
    out = json.loads((tmp_path / "out.json").read_text())
    assert "south" in [e["id"] for e in out["entries"]]


def test_a_bad_config_exits_2_and_writes_nothing(tmp_path):
    (tmp_path / "in.json").write_text(json.dumps(GOOD))
    (tmp_path / "bad.toml").write_text("[site]\nlatitude_deg = 'north'\n")
    run = pyros(
        "plan", "--input", "in.json", "--output", "out.json", "--config", "bad.toml", cwd=tmp_path
    )
    assert run.returncode == 2
    assert "site.latitude_deg" in run.stderr
    assert not (tmp_path / "out.json").exists()


def _with(index: int, **changes) -> dict:
    doc = json.loads(json.dumps(GOOD))
    doc["sequences"][index].update(changes)
    return doc


BAD = [
    ({"sequences": []}, "night", "required"),
    ({**GOOD, "night": "24/11/2026"}, "night", "not a YYYY-MM-DD date"),
    ({**GOOD, "extra": 1}, "extra", "unknown field"),
    ({**GOOD, "site": {"latitude_deg": 1, "longitude_deg": 2}}, "site.elevation_m", "missing"),
    ({"night": "2026-11-24", "sequences": {}}, "sequences", "list"),
    (_with(0, id=""), "sequences[0].id", "non-empty string"),
    (_with(1, id="m31"), "sequence 'm31'.id", "duplicate id"),
    (_with(0, ra_deg="10"), "sequence 'm31'.ra_deg", "must be a number"),
    (_with(0, duration_s=0), "sequence 'm31'.duration_s", "must be > 0"),
    (_with(0, priority=float("nan")), "sequence 'm31'.priority", "must be a number"),
    (_with(0, priority=True), "sequence 'm31'.priority", "must be a number"),
    (_with(0, max_airmass=0.5), "sequence 'm31'.max_airmass", "between 1 and 100"),
    (_with(0, min_moon_separation_deg=-1), "sequence 'm31'.min_moon_separation_deg", "between"),
    (_with(0, window_start="2026-11-25T03:00:00"), "sequence 'm31'.window_start", "timezone"),
    (_with(0, window_end="tomorrow"), "sequence 'm31'.window_end", "not an ISO 8601 time"),
    (
        _with(0, window_start="2026-11-25T05:00:00Z", window_end="2026-11-25T04:00:00Z"),
        "sequence 'm31'.window_end",
        "after window_start",
    ),
    (_with(2, twilight="dark"), "sequence 'south'.twilight", "civil, nautical or astronomical"),
    (_with(2, urgent="yes"), "sequence 'south'.urgent", "true or false"),
    (_with(3, filters="r"), "sequence 'late'.filters", "list of filter names"),
    (_with(3, colour="red"), "sequence 'late'.colour", "unknown field"),
]


@pytest.mark.parametrize(("doc", "field", "reason"), BAD, ids=[b[1] + ":" + b[2] for b in BAD])
def test_input_errors_name_the_sequence_and_the_field(doc, field, reason):
    with pytest.raises(InputError) as caught:
        parse_input(doc)
    assert caught.value.field == field
    assert reason in caught.value.reason


def test_missing_required_fields_are_named():
    doc = _with(0)
    del doc["sequences"][0]["duration_s"]
    with pytest.raises(InputError, match=r"sequence 'm31'.duration_s: required field is missing"):
        parse_input(doc)


def test_defaults_of_optional_fields():
    planning = parse_input(GOOD)
    m31, orion, south, late = planning.sequences
    assert planning.site is None
    assert south.min_altitude_deg == 30.0 and south.max_airmass is None and not south.urgent
    assert late.filters == ("r", "i") and late.twilight == "astronomical"
    assert orion.preferred_time.isoformat() == "2026-11-25T08:00:00+00:00"


# Runs `pyros plan` with every outgoing connection refused and recorded, and an empty astropy
# cache: astropy with auto-download on would try to fetch IERS-A for a 2026 night.
_NO_NETWORK = """
import json, runpy, socket, sys
attempts = []
def refuse(self, address, *args):
    attempts.append(repr(address))
    raise OSError("network disabled by the test")
socket.socket.connect = refuse
socket.socket.connect_ex = refuse
sys.argv = ["pyros", *sys.argv[1:]]
try:
    runpy.run_module("orchestrator.cli", run_name="__main__")
except SystemExit as exc:
    code = exc.code
else:
    code = 0
print(json.dumps({"code": code, "attempts": attempts}))
"""


def test_offline_planning_never_downloads_iers_tables(tmp_path):
    import os
    import subprocess
    import sys

    (tmp_path / "in.json").write_text(json.dumps(GOOD))
    home = tmp_path / "home"  # an empty astropy cache and config: nothing downloaded before
    (home / ".cache").mkdir(parents=True)
    (home / ".config").mkdir()
    env = {**os.environ, "HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache")}
    env["XDG_CONFIG_HOME"] = str(home / ".config")
    argv = ["plan", "--input", "in.json", "--output", "out.json"]
    result = subprocess.run(
        [sys.executable, "-c", _NO_NETWORK, *argv],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome == {"code": 0, "attempts": []}, result.stderr
    assert len(json.loads((tmp_path / "out.json").read_text())["entries"]) == 3
