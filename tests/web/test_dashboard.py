"""The dashboard: the executing sequence's progress rows, the next entries and the last images
as PNG previews made from the FITS (ZScale + asinh, cached on disk by image id), shown only to
who may see them; in headless Chromium at a phone's width, refreshing by itself.

Requests are the ten routine example files (alice's), planned by the real planner on the
manual clock (2026-11-25 04:00 UTC, inside the night at COLIBRI); the frame is a FITS file
written by the observer's writer with stars on a sky background.
"""

from __future__ import annotations

import io
import os
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from PIL import Image as PILImage
from sqlalchemy import select

from orchestrator.bootstrap import init_site
from orchestrator.clock import ManualClock
from orchestrator.majordome.states import State, StateStore
from orchestrator.model import Album, Image, Plan, Schedule
from orchestrator.observer.fits import write_fits
from orchestrator.planner.service import replan
from orchestrator.requests.builder import RequestBuilder
from orchestrator.requests.xml_io import submit_xml
from orchestrator.users import add_user
from tests.conftest import make_runtime
from tests.orchestrator.request_helpers import EXAMPLES
from tests.web.conftest import serve
from tests.web.helpers import web_client
from web import create_app
from web.previews import preview_name

ADMIN_PASSWORD = "admin-password-1"
PASSWORD = "night-sky-2026"
REFRESH_MS = 10000


def _star_field(seed: int = 3) -> np.ndarray:
    """1024 x 768 frame: sky 1000 ADU with noise, 40 Gaussian stars, one hot column."""
    rng = np.random.default_rng(seed)
    data = rng.normal(1000.0, 12.0, (768, 1024))
    yy, xx = np.mgrid[0:768, 0:1024]
    for _ in range(40):
        x, y, peak = rng.uniform(20, 1004), rng.uniform(20, 748), rng.uniform(500, 40000)
        data += peak * np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * 2.5**2))
    data[:, 100] = 65000.0  # a hot column: ZScale must not let it wash the sky out
    return data.astype(np.float32)


@pytest.fixture(scope="module")
def night(tmp_path_factory):
    """One planned night for the module (the tests only add to it)."""
    tmp_path = tmp_path_factory.mktemp("dashboard")
    clock = ManualClock(datetime(2026, 11, 25, 4, 0, tzinfo=UTC))
    runtime = make_runtime(tmp_path, clock, f"sqlite:///{tmp_path / 'pyros.db'}")
    init_site(runtime, ADMIN_PASSWORD)
    with runtime.sessions.begin() as session:
        add_user(session, clock.now(), "alice", "observer", PASSWORD, "Mexico", ("ROUTINE",))
        add_user(session, clock.now(), "bob", "observer", PASSWORD, "Mexico", ("ROUTINE",))
    builder = RequestBuilder(runtime.config, clock)
    for path in EXAMPLES:
        submit_xml(builder, runtime.sessions, path.read_bytes(), path.name, "alice")
    replan(runtime, "test")
    with runtime.sessions.begin() as session:
        schedule = session.scalar(select(Schedule).order_by(Schedule.id.desc()))
        first = schedule.entries[0].sequence_id
        plans = session.scalars(
            select(Plan).join(Album).where(Album.sequence_id == first).order_by(Plan.id)
        ).all()
        plans[0].status, plans[0].frames_done = "running", 1
        path = tmp_path / "images" / "frame_0001.fits"
        write_fits(path, _star_field(), fits.Header({"OBJECT": "test"}))
        image = Image(
            path=str(path), image_type="light", channel="VIS", date_obs=clock.now(),
            night="20261124", exposure_s=60.0, filter_name=plans[0].filter_name,
            object_name="test", sequence_id=first, plan_id=plans[0].id,
        )  # fmt: skip
        session.add(image)
        session.flush()
        runtime.test_image_id, runtime.test_first = image.id, first
        runtime.test_plans = len(plans)
    store = StateStore(runtime)
    store.move(State.NIGHT_WAITING, "startup: night")
    store.move(State.OBSERVING, f"sequence {first} due")
    store.set(current_sequence_id=first)
    yield runtime
    runtime.engine.dispose()


def test_previews_are_made_once_and_only_for_who_may_see_them(night):
    image_id = night.test_image_id
    url = f"/images/{image_id}/preview.png"
    anonymous = web_client(night).get(url)
    assert anonymous.status_code == 302 and "/login" in anonymous.location  # as every page
    assert web_client(night, "bob", PASSWORD).get(url).status_code == 403  # not bob's request
    assert web_client(night, "alice", PASSWORD).get("/images/999/preview.png").status_code == 404
    alice = web_client(night, "alice", PASSWORD)
    answer = alice.get(url)
    assert answer.status_code == 200 and answer.mimetype == "image/png"
    png = PILImage.open(io.BytesIO(answer.data))
    assert png.size == (512, 384)  # 1024 x 768 shrunk by 2
    pixels = np.asarray(png)
    # ZScale + asinh: the sky sits in the dark-to-middle greys, not black nor white
    sky = np.median(pixels)
    assert 20 < sky < 200, sky
    assert pixels.max() == 255  # stars and the hot column saturate
    cached = (
        Path(night.config.folders.data) / "previews" / preview_name(image_id, answer_path(night))
    )
    assert cached.is_file()
    made = cached.stat().st_mtime_ns
    assert web_client(night, "admin", ADMIN_PASSWORD).get(url).data == answer.data  # operators
    assert cached.stat().st_mtime_ns == made  # served from the disk cache, not made again


def answer_path(runtime) -> str:
    with runtime.sessions() as session:
        return session.get(Image, runtime.test_image_id).path


def test_dashboard_shows_progress_next_entries_and_previews(night, page, tmp_path):
    with serve(create_app(night)) as url:
        page.goto(f"{url}/login")
        page.fill("input[name=username]", "alice")
        page.fill("input[name=password]", PASSWORD)
        page.click("form.narrow button[type=submit]")
        page.wait_for_selector("#me")
        page.set_viewport_size({"width": 390, "height": 844})  # a phone
        page.goto(f"{url}/")
        rows = page.locator("#progress tr").all()[1:]
        assert len(rows) == night.test_plans
        assert "1/" in rows[0].text_content() and "running" in rows[0].text_content()
        assert page.locator("#next tr").count() > 1
        page.wait_for_function(
            "(() => { const i = document.querySelector('#previews img');"
            " return i && i.complete && i.naturalWidth === 512; })()",
            timeout=REFRESH_MS,
        )
        # nothing wider than the phone but the tables' own scroll boxes
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        shots = Path(os.environ.get("PYROS_SCREENSHOT_DIR", tmp_path))
        page.screenshot(path=str(shots / "dashboard_phone.png"), full_page=True)
        # the observer writes a second frame: the page's own refresh shows it
        with night.sessions.begin() as session:
            plan = session.scalars(
                select(Plan)
                .join(Album)
                .where(Album.sequence_id == night.test_first)
                .order_by(Plan.id)
            ).first()
            plan.frames_done = 2
        page.wait_for_function(
            "document.querySelector('#progress tr:nth-child(2)').textContent.includes('2/')",
            timeout=REFRESH_MS,
        )
