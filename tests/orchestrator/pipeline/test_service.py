"""The pipeline process's loop: masters, reduction, quality in `pyros status`, bad input,
and error-box reports of alert images (a transient added to a real simulator frame)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS
from sqlalchemy import select

from orchestrator.model import ErrorBoxReport, Image, JobHeartbeat, MasterFrame
from orchestrator.observer.fits import write_fits
from orchestrator.pipeline.catalog import cone
from orchestrator.pipeline.service import PipelineService, latest_report
from orchestrator.status import format_status, system_status
from tests.helpers import wait_for
from tests.orchestrator.pipeline.alerts import make_alert
from tests.orchestrator.pipeline.conftest import load_night


def _drain(service: PipelineService) -> None:
    service.start()
    for _ in range(100):
        if not service.step():
            return
    raise AssertionError("the queue never emptied")


def _states(runtime) -> dict[str, tuple[str, str]]:
    with runtime.sessions() as session:
        return {
            Path(i.path).name: (i.pipeline_state, i.pipeline_note or "")
            for i in session.scalars(select(Image))
        }


def test_process_builds_masters_then_reduces_and_status_shows_quality(night_runtime, sim_night):
    load_night(night_runtime, sim_night)
    _drain(PipelineService(night_runtime))
    with night_runtime.sessions() as session:
        assert {m.kind for m in session.scalars(select(MasterFrame))} == {"bias", "dark", "flat"}
        lights = list(session.scalars(select(Image).where(Image.image_type == "light")))
    assert len(lights) == 3
    for light in lights:
        assert light.pipeline_state == "done" and not light.pipeline_note
        assert light.n_stars >= 20 and light.wcs_solver == "builtin"
        assert Path(light.calibrated_path).is_file()
        assert fits.getheader(light.calibrated_path)["CALSTAT"] == "BDF"
    text = format_status(system_status(night_runtime))
    assert "Pipeline  images done: 12; masters bias: 1, dark: 1, flat: 1" in text
    assert f"#{lights[-1].id}" in text and "lim " in text


def test_bad_frames_are_marked_with_their_reason_and_the_queue_goes_on(night_runtime, sim_night):
    load_night(night_runtime, sim_night, ("light",))
    folder = night_runtime.config.folders.images / "bad"
    folder.mkdir(parents=True)
    good = fits.getheader(sim_night.rows[-1].path)
    (folder / "text.fits").write_text("SIMPLE = this is not FITS\n")
    fits.PrimaryHDU().writeto(folder / "nodata.fits")
    write_fits(folder / "nan.fits", np.full((64, 64), np.nan, np.float32), good)
    write_fits(folder / "saturated.fits", np.full((64, 64), 65535, np.uint16), good)
    rng = np.random.default_rng(1)
    write_fits(folder / "nostars.fits", rng.normal(1000, 10, (256, 256)).astype(np.float32), good)
    alert_id, sequence_id = make_alert(night_runtime, 10.0, 30.0, 0.1)
    with night_runtime.sessions.begin() as session:
        for name in ("text", "nodata", "nan", "saturated", "nostars"):
            session.add(Image(path=str(folder / f"{name}.fits"), image_type="light", channel="VIS",
                              date_obs=night_runtime.clock.now(), exposure_s=0.1,
                              sequence_id=sequence_id))  # fmt: skip
    _drain(PipelineService(night_runtime))
    states = _states(night_runtime)
    assert states["text.fits"][0] == "failed" and "not a FITS file" in states["text.fits"][1]
    assert states["nodata.fits"] == ("failed", "no image data in the FITS file")
    assert states["nan.fits"] == ("failed", "image is all NaN")
    assert states["saturated.fits"][0] == "failed" and "saturated" in states["saturated.fits"][1]
    assert states["nostars.fits"][0] == "done"
    assert "no WCS: 0 stars found" in states["nostars.fits"][1]
    lights = [s for n, s in states.items() if n.endswith("0.1s.fits")]
    assert [s[0] for s in lights] == ["done"] * 3  # the good frames after and before: done
    report = latest_report(night_runtime, alert_id)  # the bad frames were an alert's
    assert report.n_images == 5 and report.n_candidates == 0
    assert "Not done: text.fits: not a FITS file" in report.text
    assert "nan.fits: image is all NaN" in report.text
    assert "nostars_cal.fits: no sources located (" in report.text
    assert "no stars found; no WCS: 0 stars found)" in report.text


def _empty_spot(path: str, catalog: Path) -> tuple[float, float, float, float]:
    """A pixel (x, y) inside the frame, > 40" from every catalogue star; and its RA, Dec."""
    header = fits.getheader(path.replace(".fits", "_cal.fits"))
    wcs = WCS(header)
    stars = cone(catalog, *wcs.wcs.crval, 0.6)
    sx, sy = wcs.all_world2pix(stars.ra_deg, stars.dec_deg, 0)
    for x in range(60, 200, 7):
        for y in range(60, 200, 7):
            if np.min(np.hypot(sx - x, sy - y)) * 11.14 > 40:
                ra, dec = wcs.all_pix2world(x, y, 0)
                return x, y, float(ra), float(dec)
    raise AssertionError("no empty spot")


def test_alert_report_finds_an_added_transient_and_gives_limits_without_one(
    night_runtime, sim_night
):
    load_night(night_runtime, sim_night)
    service = PipelineService(night_runtime)
    _drain(service)  # routine reduction: masters, WCS, zero point of the field
    with night_runtime.sessions() as session:
        light = session.scalars(select(Image).where(Image.image_type == "light")).first()
        zp = light.zero_point_mag
    x, y, ra, dec = _empty_spot(light.path, sim_night.catalog)
    # A transient of magnitude 14.0 (through this frame's zero point), PSF like the stars'.
    mag = 14.0
    flux = 0.1 * 10 ** (-0.4 * (mag - zp))
    sigma = 0.45  # binned pixels: the simulator's stars are ~1 px FWHM here
    data = fits.getdata(light.path).astype(np.float64)
    yy, xx = np.mgrid[0 : data.shape[0], 0 : data.shape[1]]
    data += (
        flux * np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * sigma**2)) / (2 * np.pi * sigma**2)
    )
    alert_id, sequence_id = make_alert(night_runtime, ra + 0.01, dec, 0.05, "GRB 261125A")
    quiet_id, quiet_sequence = make_alert(night_runtime, ra + 0.01, dec, 0.05, "GRB 261125B")
    header = fits.getheader(light.path)
    frames = (("inj", sequence_id, data), ("quiet", quiet_sequence, None),
              ("quiet2", quiet_sequence, None))  # fmt: skip
    raw = fits.getdata(light.path).astype(np.float64)
    rng = np.random.default_rng(7)
    for name, seq, payload in frames:
        path = Path(light.path).with_name(f"alert_{name}.fits")
        if payload is None:  # the simulator caches a field's image: make the noise independent
            payload = raw + rng.normal(0, 150.0, raw.shape)
        write_fits(path, payload.astype(np.float32), header)
        with night_runtime.sessions.begin() as session:
            row = Image(path=str(path), image_type="light", channel="VIS",
                        date_obs=light.date_obs, exposure_s=0.1, sequence_id=seq)  # fmt: skip
            session.add(row)
    _drain(service)
    report = latest_report(night_runtime, alert_id)
    details = json.loads(report.details)
    assert report.n_candidates == 1, report.text
    candidate = details["candidates"][0]
    offset_arcsec = 3600 * np.hypot((candidate["ra_deg"] - ra) * np.cos(np.radians(dec)),
                                    candidate["dec_deg"] - dec)  # fmt: skip
    assert offset_arcsec < 5.0  # under half an 11" binned pixel
    assert abs(candidate["mag"] - mag) < 0.3
    assert "New source (no catalogue counterpart)" in report.text and "T0+" in report.text
    quiet = latest_report(night_runtime, quiet_id)
    assert quiet.n_candidates == 0
    assert "No new source is detected" in quiet.text and "upper limits" in quiet.text
    # Two frames shallower than 18 mag: their stack is analysed too, and is deeper.
    limits = {f["image"]: f["limiting_mag"] for f in json.loads(quiet.details)["frames"]}
    stacked = next(name for name in limits if name.startswith("stack_"))
    assert limits[stacked] > max(v for k, v in limits.items() if k != stacked) + 0.2
    assert stacked in quiet.text or "0.1 s" in quiet.text
    assert fits.getheader(Path(light.path).with_name(stacked))["NCOMBINE"] == 2
    with night_runtime.sessions() as session:
        assert session.scalar(select(ErrorBoxReport).where(ErrorBoxReport.alert_id == quiet_id))


def test_run_loop_beats_and_stops(night_runtime):
    stop = threading.Event()
    thread = threading.Thread(target=PipelineService(night_runtime).run, args=(stop,))
    thread.start()
    try:

        def beat():
            with night_runtime.sessions() as session:
                return session.scalar(select(JobHeartbeat).where(JobHeartbeat.name == "pipeline"))

        assert wait_for(beat, 20, what="pipeline heartbeat").state == "ok"
    finally:
        stop.set()
        thread.join(20)
    assert not thread.is_alive()
