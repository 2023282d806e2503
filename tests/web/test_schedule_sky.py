"""The schedule's sky: the altitude curves agree with astropy's own AltAz transform, the Moon's
illumination with astroplan's, the sky is computed once per plan, and the page draws the
Gantt and the curves with the vendored uPlot in headless Chromium (a bar opens its request).

Requests are the ten routine example files, planned by the real planner on the manual clock
(2026-11-25 04:00 UTC, inside the night at COLIBRI).
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from orchestrator.bootstrap import init_site
from orchestrator.clock import ManualClock
from orchestrator.model import Sequence
from orchestrator.planner.service import replan
from orchestrator.requests.builder import RequestBuilder
from orchestrator.requests.xml_io import submit_xml
from tests.conftest import make_runtime
from tests.orchestrator.request_helpers import EXAMPLES
from tests.web.conftest import serve
from tests.web.helpers import web_client
from web import create_app

ADMIN_PASSWORD = "admin-password-1"


@pytest.fixture(scope="module")
def planned(tmp_path_factory):
    """The ten examples planned once for the module."""
    tmp_path = tmp_path_factory.mktemp("sky")
    clock = ManualClock(datetime(2026, 11, 25, 4, 0, tzinfo=UTC))
    runtime = make_runtime(tmp_path, clock, f"sqlite:///{tmp_path / 'pyros.db'}")
    init_site(runtime, ADMIN_PASSWORD)
    builder = RequestBuilder(runtime.config, clock)
    for path in EXAMPLES:
        submit_xml(builder, runtime.sessions, path.read_bytes(), path.name, "admin")
    replan(runtime, "test")
    yield runtime
    runtime.engine.dispose()


def _astropy_altitude_deg(config, ra_deg: float, dec_deg: float, t_unix: float) -> float:
    """Independent of the planner's grid: astropy's AltAz (no refraction, as the planner)."""
    import astropy.units as u
    from astropy.coordinates import AltAz, EarthLocation, SkyCoord
    from astropy.time import Time

    site = config.site
    where = EarthLocation.from_geodetic(
        site.longitude_deg * u.deg, site.latitude_deg * u.deg, site.elevation_m * u.m
    )
    frame = AltAz(obstime=Time(t_unix, format="unix"), location=where)
    return float(SkyCoord(ra_deg * u.deg, dec_deg * u.deg).transform_to(frame).alt.deg)


def _unix(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def test_the_sky_of_a_plan_is_right_and_computed_once(planned):
    from astroplan import moon_illumination
    from astropy.time import Time

    client = web_client(planned)
    plan = client.get("/api/schedule").get_json()["schedule"]
    sky = plan["sky"]
    assert plan["entries"], "no entry tonight: the test proves nothing"
    assert {t["sequence_id"] for t in sky["targets"]} == {e["sequence_id"] for e in plan["entries"]}
    times = sky["times_s"]
    assert times[0] <= _unix(plan["dusk"]) and times[-1] >= _unix(plan["dawn"]) - 300
    assert all(b - a == 300 for a, b in zip(times, times[1:], strict=False))
    with planned.sessions() as session:
        for curve in sky["targets"]:
            sequence = session.get(Sequence, curve["sequence_id"])
            assert len(curve["altitude_deg"]) == len(times)
            for k in (0, len(times) // 2, len(times) - 1):
                expected = _astropy_altitude_deg(
                    planned.config, sequence.ra_deg, sequence.dec_deg, times[k]
                )
                assert curve["altitude_deg"][k] == pytest.approx(expected, abs=0.2)
    # an entry is placed where its target is above the site's horizon
    for entry in plan["entries"]:
        curve = next(c for c in sky["targets"] if c["sequence_id"] == entry["sequence_id"])
        middle = (_unix(entry["start"]) + _unix(entry["end"])) / 2
        k = min(range(len(times)), key=lambda i: abs(times[i] - middle))
        assert curve["altitude_deg"][k] > sky["horizon_deg"] - 1
    moon = sky["moon"]
    night_middle = Time((times[0] + times[-1]) / 2, format="unix")
    assert moon["illumination"] == pytest.approx(float(moon_illumination(night_middle)), abs=0.02)
    assert len(moon["altitude_deg"]) == len(times)
    assert moon["rise"] or moon["set"]
    assert sky["sun"]["sunset"] < sky["sun"]["dusk"] < sky["sun"]["dawn"] < sky["sun"]["sunrise"]
    assert date.fromisoformat(plan["night"]) == date(2026, 11, 24)

    cache = client.application.extensions["pyros_sky_cache"]
    client.get("/schedule")
    client.get("/api/schedule")
    assert cache.computed == 1  # one plan, one computation
    replan(planned, "test")
    assert client.get("/api/schedule").get_json()["schedule"]["id"] != plan["id"]
    assert cache.computed == 2


def test_the_schedule_page_draws_the_gantt_and_the_curves(planned, page, tmp_path):
    with serve(create_app(planned)) as url:
        page.goto(f"{url}/login")
        page.fill("input[name=username]", "admin")
        page.fill("input[name=password]", ADMIN_PASSWORD)
        page.click("form.narrow button[type=submit]")
        page.wait_for_selector("#me")
        page.goto(f"{url}/schedule")
        entries = page.locator("#entries tr").count() - 1
        assert entries > 0
        page.wait_for_function("window.pyrosSchedule.gantt !== undefined")
        assert page.evaluate("window.pyrosSchedule.gantt.pyrosBars.length") == entries
        # per target: its curve and its scheduled part; and the Moon
        targets = page.evaluate("window.pyrosSchedule.altitude.series.length") - 1
        assert (
            targets
            == 2 * len(set(page.locator("#entries tr td:nth-child(3)").all_inner_texts())) + 1
        )
        assert "illuminated" in page.text_content("#moon")
        shots = Path(os.environ.get("PYROS_SCREENSHOT_DIR", tmp_path))
        page.screenshot(path=str(shots / "schedule.png"), full_page=True)
        # a click on the first bar opens that entry's request
        x0, x1, y0, y1 = page.evaluate("window.pyrosSchedule.gantt.pyrosBars[0].slice(0, 4)")
        box = page.locator("#gantt .u-over").bounding_box()
        ratio = page.evaluate("window.devicePixelRatio")
        over_left, over_top = page.evaluate(
            "(o => [o.offsetLeft, o.offsetTop])(window.pyrosSchedule.gantt.over)"
        )
        page.mouse.click(
            box["x"] + (x0 + x1) / 2 / ratio - over_left,
            box["y"] + (y0 + y1) / 2 / ratio - over_top,
        )
        page.wait_for_url("**/requests/*")
        page.set_viewport_size({"width": 390, "height": 844})  # a phone
        page.goto(f"{url}/schedule")
        page.wait_for_function("window.pyrosSchedule.altitude !== undefined")
        width = page.evaluate("window.pyrosSchedule.altitude.width")
        assert width <= 390
        page.screenshot(path=str(shots / "schedule_phone.png"), full_page=True)
