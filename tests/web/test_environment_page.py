"""The environment page in a real headless Chromium (Debian's), fed by the real store code.

A day of history is produced by the synthesis and the store job's code on the manual clock
(dry, then rain); the page must show the synthesis, draw the plots and refresh by itself.
"""

from __future__ import annotations

import gzip
import json
import os
from datetime import timedelta
from pathlib import Path

import pytest

from orchestrator import db
from plc_gateway.parser import parse_status
from plc_gateway.store import WatchStore
from plc_gateway.synthesis import Synthesizer
from tests.conftest import TEST_DATA, make_runtime
from tests.web.conftest import serve
from web import create_app

GAP_STEPS = range(10 * 6, 12 * 6)  # two hours without history, 14 h ago
ROWS = 24 * 6 - len(GAP_STEPS)
DRY = json.loads((TEST_DATA / "plc" / "status_dry.json").read_text())


def reading(rain_mm_h: float, humidity_pct: float):
    doc = json.loads(json.dumps(DRY))
    for item in doc[0]["device"][0]["values"]:
        if item["name"] == "RainRate":
            item["value"] = rain_mm_h
        if item["name"] == "OutsideHumidity":
            item["value"] = humidity_pct
    return parse_status(json.dumps(doc))


# What a uPlot chart of the page holds: points, gaps, unsafe spans, its y range.
_PLOT_STATE = """key => { const u = window.pyrosPlots[key];
  return {points: u.pyros.points, gaps: u.pyros.gaps, unsafe: u.pyros.unsafe,
          y_min: u.scales.y.min, y_max: u.scales.y.max}; }"""
# The RGBA of a chart's canvas at time t_s, a few pixels above the bottom of the plot area.
_PIXEL = """([key, t]) => { const u = window.pyrosPlots[key];
  const x = Math.round(u.valToPos(t, "x", true)), y = Math.round(u.bbox.top + u.bbox.height - 3);
  return Array.from(u.ctx.getImageData(x, y, 1, 1).data); }"""


@pytest.fixture
def env_runtime(tmp_path, clock):
    runtime = make_runtime(tmp_path, clock, f"sqlite:///{tmp_path / 'pyros.db'}")
    db.upgrade(runtime.engine)
    synth = Synthesizer(runtime.config.safety)
    store = WatchStore(runtime.sessions, history_period_s=600)
    clock.advance(-24 * 3600)
    for step in range(24 * 6):  # every 10 min over the last 24 h; rain for the last 3 h
        raining = step >= 21 * 6
        if step in GAP_STEPS:  # the gateway was down: no rows
            clock.advance(600)
            continue
        store.store(synth.update(reading(6.0 if raining else 0.0, 40 + step % 30), clock.now()), 2)
        clock.advance(600)
    runtime.test_synth, runtime.test_store = synth, store  # the test stores more later
    yield runtime
    runtime.engine.dispose()


@pytest.fixture
def web_url(env_runtime):
    with serve(create_app(env_runtime)) as url:
        yield url


def test_environment_page_shows_synthesis_plots_and_refreshes(
    env_runtime, web_url, page, clock, tmp_path
):
    page.goto(f"{web_url}/environment")
    assert page.text_content("#env-verdict") == "UNSAFE"
    assert "rain_rate: moderate rain (6.0 mm/h)" in page.text_content("#env-reasons")
    table = page.text_content("#env-elements")
    for label in (
        "Rain",
        "Wind speed",
        "Humidity",
        "Cloud (sky − ambient)",
        "Dew-point margin",
        "Pressure",
    ):
        assert label in table
    assert "LAMP_FLAT_CAGIRE" in page.text_content("#env-site")
    assert page.locator("#env-plots .uplot").count() == 7  # drawn by the vendored uPlot
    # the history comes by its own fetch (not embedded in the HTML): wait for the points
    page.wait_for_function(
        "[...document.querySelectorAll('#env-plots .uplot')]"
        ".every(p => !p.classList.contains('empty'))"
    )
    rain = page.evaluate(_PLOT_STATE, "rain_rate_mm_h")
    assert rain["points"] == ROWS and rain["gaps"] == 1  # the gateway's 2 h down: a gap
    # unsafe: the first row (no reopen delay passed yet) and the last 3 h (rain), one span each
    first, (start_s, end_s) = rain["unsafe"]
    assert first[1] - first[0] == 600
    assert end_s - start_s == pytest.approx(3 * 3600, abs=700)
    assert rain["y_max"] >= 6.0 > rain["y_min"] - 1  # autoscaled to the data
    # the shading is on the canvas: redder inside the unsafe span than before it
    inside = page.evaluate(_PIXEL, ["rain_rate_mm_h", (start_s + end_s) / 2])
    outside = page.evaluate(_PIXEL, ["rain_rate_mm_h", start_s - 6 * 3600])
    assert inside[0] > outside[0] + 20, (inside, outside)
    # $PYROS_SCREENSHOT_DIR keeps the picture for a human look (tmp_path is pruned).
    shots = Path(os.environ.get("PYROS_SCREENSHOT_DIR", tmp_path))
    page.screenshot(path=str(shots / "environment.png"), full_page=True)
    # The rain stops and the delay passes: the page refreshes by itself to SAFE.
    delay_s = env_runtime.config.safety.reopen_delay_s
    for _ in range(2):
        env_runtime.test_store.store(
            env_runtime.test_synth.update(reading(0.0, 40), clock.now()), 2
        )
        clock.advance(delay_s)
    env_runtime.test_store.store(env_runtime.test_synth.update(reading(0.0, 40), clock.now()), 2)
    page.wait_for_function(
        "document.getElementById('env-verdict').textContent === 'SAFE'", timeout=15000
    )


def test_environment_api_validates_hours(env_runtime):
    client = create_app(env_runtime).test_client()
    data = client.get("/api/environment?hours=3").get_json()
    assert len(data["history"]) >= 3 and data["weather"]["is_safe"] is False
    bad = client.get("/api/environment?hours=-1")
    assert bad.status_code == 400 and "hours" in bad.get_json()["error"]
    bad = client.get("/api/environment?since=2026-11-25T00:00")
    assert bad.status_code == 400 and bad.get_json()["field"] == "since"


def test_environment_api_sends_only_newer_rows_and_buckets_long_spans(env_runtime):
    client = create_app(env_runtime).test_client()
    day = client.get("/api/environment?hours=24").get_json()["history"]
    # every stored row, and one null point in the gap (a plot breaks its line there)
    gaps = [p for p in day if p["is_safe"] is None]
    assert len(day) - len(gaps) == ROWS and len(gaps) == 1
    last = day[-4]["t"]
    newer = client.get("/api/environment", query_string={"since": last}).get_json()["history"]
    assert [p["t"] for p in newer] == [p["t"] for p in day[-3:]]
    # a week is averaged in buckets (here 403 s: one 10-min row each), rain keeps its maximum
    week = client.get("/api/environment?hours=168").get_json()["history"]
    stored = [p for p in week if p["is_safe"] is not None]
    assert len(stored) == ROWS
    assert max(p["rain_rate_mm_h"] or 0 for p in week) == 6.0
    assert [p["is_safe"] for p in stored] == [p["is_safe"] for p in day if p not in gaps]
    year = client.get("/api/environment?hours=8760").get_json()["history"]
    assert 1 <= len(year) < len(day)  # 5.8 h buckets
    assert max(p["rain_rate_mm_h"] or 0 for p in year) == 6.0
    assert not all(p["is_safe"] for p in year)


def test_environment_api_is_gzipped_when_asked(env_runtime):
    client = create_app(env_runtime).test_client()
    plain = client.get("/api/environment")
    packed = client.get("/api/environment", headers={"Accept-Encoding": "gzip, deflate"})
    assert (
        packed.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in packed.headers["Vary"]
    )
    assert len(packed.data) < len(plain.data) / 3
    assert gzip.decompress(packed.data) == plain.data


def test_environment_page_without_data(tmp_path, clock):
    runtime = make_runtime(tmp_path, clock, f"sqlite:///{tmp_path / 'empty.db'}")
    db.upgrade(runtime.engine)
    data = create_app(runtime).test_client().get("/api/environment").get_json()
    assert data["weather"] is None and data["history"] == []


def test_environment_history_sql_on_both_databases(runtime, clock):
    """The raw and bucketed queries are written per dialect: run them on SQLite and PostgreSQL."""
    from orchestrator.model.watches import WeatherWatchHistory

    start = clock.now()
    with runtime.sessions.begin() as session:
        for minute in range(180):
            session.add(
                WeatherWatchHistory(
                    measured=start - timedelta(minutes=minute), is_safe=minute > 60,
                    unsafe_reasons="", rain_rate_mm_h=1.0 if minute == 30 else 0.0,
                    wind_speed_m_s=float(minute % 7), humidity_pct=50.0, temperature_c=5.0,
                    dew_point_c=-2.0, pressure_hpa=770.0, sky_minus_ambient_c=-30.0, synthesis={},
                )
            )  # fmt: skip
    client = create_app(runtime).test_client()
    raw = client.get("/api/environment?hours=2").get_json()["history"]
    assert len(raw) == 121 and raw[-1]["t"] == "2026-11-25T04:00:00Z"
    assert raw[0]["t"] == "2026-11-25T02:00:00Z" and raw[0]["is_safe"] is True
    week = client.get("/api/environment?hours=168").get_json()["history"]
    assert 1 <= len(week) <= 180 / 6 + 2  # 403 s buckets
    assert max(p["rain_rate_mm_h"] for p in week) == 1.0
    assert max(p["wind_speed_m_s"] for p in week) == 6.0
    assert [p["is_safe"] for p in week][-1] is False
