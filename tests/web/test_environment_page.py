"""The environment page in a real headless Chromium (Debian's), fed by the real store code.

A day of history is produced by the synthesis and the store job's code on the manual clock
(dry, then rain); the page must show the synthesis, draw the plots and refresh by itself.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from orchestrator import db
from plc_gateway.parser import parse_status
from plc_gateway.store import WatchStore
from plc_gateway.synthesis import Synthesizer
from tests.conftest import TEST_DATA, make_runtime
from tests.web.conftest import serve
from web import create_app

DRY = json.loads((TEST_DATA / "plc" / "status_dry.json").read_text())


def reading(rain_mm_h: float, humidity_pct: float):
    doc = json.loads(json.dumps(DRY))
    for item in doc[0]["device"][0]["values"]:
        if item["name"] == "RainRate":
            item["value"] = rain_mm_h
        if item["name"] == "OutsideHumidity":
            item["value"] = humidity_pct
    return parse_status(json.dumps(doc))


@pytest.fixture
def env_runtime(tmp_path, clock):
    runtime = make_runtime(tmp_path, clock, f"sqlite:///{tmp_path / 'pyros.db'}")
    db.upgrade(runtime.engine)
    synth = Synthesizer(runtime.config.safety)
    store = WatchStore(runtime.sessions, history_period_s=600)
    clock.advance(-24 * 3600)
    for step in range(24 * 6):  # every 10 min over the last 24 h; rain for the last 3 h
        raining = step >= 21 * 6
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
    assert page.locator("svg.plot").count() == 7
    assert page.locator("svg.plot polyline").count() == 7
    assert page.locator("rect.strip-unsafe").count() > 0
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


def test_environment_page_without_data(tmp_path, clock):
    runtime = make_runtime(tmp_path, clock, f"sqlite:///{tmp_path / 'empty.db'}")
    db.upgrade(runtime.engine)
    data = create_app(runtime).test_client().get("/api/environment").get_json()
    assert data["weather"] is None and data["history"] == []
