"""The GRB drill, pipeline side: a fading transient injected into the simulator's sky at an
alert's position; the camera's frames (taken here by the test, binned 1x1, the magnitude
rewritten before each exposure) go through the pipeline, whose report must find it.
The closed loop (notice file -> alert manager -> pre-emption -> slew -> frames by the observer
-> pipeline) is tests/majordome/test_grb_drill.py.
"""

from __future__ import annotations

import json
from datetime import timedelta

import numpy as np
from astropy import units as u
from astropy.coordinates import AltAz, EarthLocation, SkyCoord
from sqlalchemy import select

from orchestrator.model import Image
from orchestrator.pipeline.service import PipelineService, latest_report
from simulators.gaia_catalog import (
    fading_mag,
    inject_transient,
    remove_transient,
    set_transient_mag,
)
from tests.orchestrator.pipeline import sim_frames as sf
from tests.orchestrator.pipeline.alerts import make_alert
from tests.orchestrator.pipeline.conftest import START

M0, ALPHA, T0_S = 13.5, 1.0, 600.0  # 13.5 mag 10 min after the trigger, fading as t^-1


def _field(runtime, az_deg: float) -> SkyCoord:
    site = runtime.config.site
    where = EarthLocation(lat=site.latitude_deg * u.deg, lon=site.longitude_deg * u.deg,
                          height=site.elevation_m * u.m)  # fmt: skip
    frame = AltAz(obstime=runtime.clock.now(), location=where)
    return SkyCoord(alt=88 * u.deg, az=az_deg * u.deg, frame=frame).icrs


def _expose(runtime, devices, target, sequence_id, exposure_s) -> None:
    camera, mount = devices.get("camera_vis"), devices.get("mount")
    camera.set_binning(1, 1)
    camera.start_exposure(exposure_s, True)
    camera.wait_exposure(exposure_s + 60)
    data = np.asarray(camera.image())
    from orchestrator.observer.fits import Exposure, save_image

    row = save_image(runtime, data, Exposure(
        channel="VIS", image_type="light", date_obs=runtime.clock.now(), exposure_s=exposure_s,
        target=target, mount_position=mount.position(), sequence_id=sequence_id,
    ))  # fmt: skip
    assert row.id


def test_drill_injected_transient_is_found_and_a_quiet_alert_gives_limits(
    tmp_path, alpaca_simulator
):
    catalog = alpaca_simulator.folder / "gaia_sources.db"
    runtime = sf.make_runtime_for(tmp_path, sf_clock(), f"sqlite:///{tmp_path / 'd.db'}",
                                  alpaca_simulator.address)  # fmt: skip
    settings = {"catalog_path": catalog, "solver": "builtin"}
    pipeline = runtime.config.pipeline.model_copy(update=settings)
    runtime.config = runtime.config.model_copy(update={"pipeline": pipeline})
    from orchestrator import db

    db.upgrade(runtime.engine)
    burst, quiet = _field(runtime, 90.0), _field(runtime, 270.0)
    # The transient 1' from the alert's centre, inside its 3' error circle.
    transient = SkyCoord(burst.ra + (1 / 60) * u.deg / np.cos(burst.dec.radian), burst.dec)
    alert_id, burst_sequence = make_alert(runtime, burst.ra.deg, burst.dec.deg, 0.05, "GRB A")
    quiet_id, quiet_sequence = make_alert(runtime, quiet.ra.deg, quiet.dec.deg, 0.05, "GRB B")
    trigger = runtime.clock.now() - timedelta(minutes=10)
    rowid = inject_transient(catalog, transient.ra.deg, transient.dec.deg, M0)
    injected = []
    devices = sf.connect(runtime)
    try:
        mount = devices.get("mount")
        if mount.is_parked():
            mount.unpark(30)
        mount.set_tracking(True)
        mount.slew(burst, 60)
        for k in range(2):
            runtime.clock.advance(60.0)
            since_s = (runtime.clock.now() - trigger).total_seconds()
            injected.append(fading_mag(M0, ALPHA, T0_S, since_s))
            set_transient_mag(catalog, rowid, injected[-1])
            _expose(runtime, devices, burst, burst_sequence, 0.1 + 0.01 * k)  # new cache key
        mount.slew(quiet, 60)
        _expose(runtime, devices, quiet, quiet_sequence, 0.1)
    finally:
        devices.close()
        remove_transient(catalog, rowid)
    service = PipelineService(runtime)
    service.start()
    while service.step():
        pass
    with runtime.sessions() as session:
        notes = [i.pipeline_note for i in session.scalars(select(Image))]
    report = latest_report(runtime, alert_id)
    details = json.loads(report.details)
    assert report.n_candidates == 2, (report.text, notes)  # one per frame
    for candidate, mag in zip(details["candidates"], injected, strict=True):
        found = SkyCoord(candidate["ra_deg"] * u.deg, candidate["dec_deg"] * u.deg)
        assert found.separation(transient).arcsec < 2.0, report.text
        assert abs(candidate["mag"] - mag) < 0.3, (candidate, mag)
    assert "New source (no catalogue counterpart)" in report.text
    quiet_report = latest_report(runtime, quiet_id)
    assert quiet_report.n_candidates == 0, quiet_report.text
    assert "No new source is detected" in quiet_report.text
    assert "upper limits" in quiet_report.text


def sf_clock():
    from orchestrator.clock import ManualClock

    return ManualClock(START + timedelta(hours=1))
