"""The closed-loop GRB drill: a notice dropped in the watched folder of a running orchestrator,
with a fading transient injected at its position in the camera simulator's sky; the urgent
sequence slews and exposes, the pipeline reduces the frames and the alert's stored report has
a new source within 2" and 0.3 mag of the injected one. A second notice, with nothing
injected, gets a report of upper limits only. Real peers: PLC simulator, our gateway,
alpaca-simulators, inotify; the pipeline's service loop runs in-process after the frames.
"""

from __future__ import annotations

import json
import threading

import pytest
from astropy import units as u
from astropy.coordinates import SkyCoord
from sqlalchemy import select

from orchestrator.alerts.drill import FadingLaw, inject_at_notice
from orchestrator.model import Alert, JobHeartbeat, Sequence
from orchestrator.pipeline.report_view import report_lines
from orchestrator.pipeline.service import PipelineService, alert_images, latest_report
from simulators.alpaca_sim import CATALOG_NAME
from tests.device_peers import reset_alpaca
from tests.helpers import wait_for
from tests.majordome.night_helpers import alpaca_devices_toml, make_site
from tests.orchestrator.alerts.conftest import json_notice

pytestmark = pytest.mark.timeout(600)

# Two single frames with unusual exposure times: the simulator caches frames by pointing and
# exposure time, and a cached frame (another test's, or the first one) would not show the fade.
EP_DRILL = """
name = "ep-wxt-drill"
priority = 90
max_error_radius_deg = 0.1
valid_for_s = 43200
min_altitude_deg = 20
twilight = "nautical"

[match]
missions = ["EP"]
instruments = ["WXT"]

[[vis]]
filter = "r"
exposure_s = 1.03

[[vis]]
filter = "r"
exposure_s = 1.07
"""
# 16.5 mag 10 min after the trigger: 1 s frames reach ~19.6 and saturate stars brighter
# than ~14 (measured too faint), so the transient sits between.
LAW = FadingLaw(m0=16.5, alpha=0.5, t0_s=600.0)


def _drop(runtime, name: str, payload: bytes) -> None:
    folder = runtime.config.folders.voevents
    partial = folder / f".{name}.part"
    partial.write_bytes(payload)
    partial.rename(folder / name)


def _executed_alert(runtime, trigger: str) -> int | None:
    with runtime.sessions() as session:
        alert = session.scalar(select(Alert).where(Alert.trigger_id.contains(trigger)))
        if alert is None or alert.request_id is None:
            return None
        done = session.scalars(
            select(Sequence.status).where(Sequence.request_id == alert.request_id)
        ).all()
        return alert.id if done and all(s == "executed" for s in done) else None


def _wait_executed(runtime, trigger: str, what: str) -> int:
    try:
        return wait_for(lambda: _executed_alert(runtime, trigger), 240, 0.2, what=what)
    except AssertionError:
        with runtime.sessions() as session:
            alerts = [(a.id, a.trigger_id, a.status, a.reason, a.request_id, a.latency_ms)
                      for a in session.scalars(select(Alert))]  # fmt: skip
            sequences = [(q.id, q.request_id, q.name, q.status, q.status_reason)
                         for q in session.scalars(select(Sequence))]  # fmt: skip
        raise AssertionError(f"{what}: alerts {alerts}; sequences {sequences}") from None


def _beat(runtime, name: str) -> bool:
    with runtime.sessions() as session:
        return session.scalar(select(JobHeartbeat.id).where(JobHeartbeat.name == name)) is not None


def _fade(transient, clock, stop: threading.Event) -> None:
    while not stop.is_set():
        transient.update(clock.now())
        stop.wait(0.1)


def test_a_replayed_notice_with_an_injected_transient_is_found_a_quiet_one_gives_limits(
    tmp_path, alpaca_simulator
):
    reset_alpaca(alpaca_simulator)
    catalog = alpaca_simulator.folder / CATALOG_NAME
    strategies = tmp_path / "strategies"
    strategies.mkdir()
    (strategies / "ep.toml").write_text(EP_DRILL)
    site = make_site(
        tmp_path,
        f"sqlite:///{tmp_path / 'pyros.db'}",
        alpaca_devices_toml(alpaca_simulator.address),
        replace={"[alerts]": f'[alerts]\nstrategies = "{strategies}"'},
    )
    rt = site.runtime
    settings = {"catalog_path": catalog, "solver": "builtin"}
    rt.config = rt.config.model_copy(
        update={"pipeline": rt.config.pipeline.model_copy(update=settings)}
    )
    burst = json_notice(rt, ident="01708000101", age_s=LAW.t0_s)
    transient = inject_at_notice(catalog, burst, rt.clock.now(), LAW)
    stop = threading.Event()
    fader = threading.Thread(target=_fade, args=(transient, rt.clock, stop), daemon=True)
    fader.start()
    try:
        site.start_orchestrator()
        # The folder listener's watch is set once its heartbeat is stored: a file written
        # before the watch, in the last second, would wait for the next catch-up.
        wait_for(lambda: _beat(rt, "alerts-folder"), 120, 0.1, what="the folder listener up")
        _drop(rt, "burst.json", burst)
        burst_id = _wait_executed(rt, "01708000101", "the burst's urgent sequence executed")
        quiet = json_notice(rt, ident="01708000102", age_s=LAW.t0_s, ra_offset_deg=3.0)
        _drop(rt, "quiet.json", quiet)
        quiet_id = _wait_executed(rt, "01708000102", "the quiet alert's sequence executed")
    finally:
        stop.set()
        fader.join(5)
        transient.remove()
        site.close()
    service = PipelineService(rt)
    service.start()
    while service.step():
        pass
    images = alert_images(rt, burst_id)
    assert len(images) == 2, [(i.path, i.pipeline_note) for i in images]
    report = latest_report(rt, burst_id)
    assert report is not None and report.n_images == 2
    details = json.loads(report.details)
    where = SkyCoord(transient.ra_deg * u.deg, transient.dec_deg * u.deg)
    assert report.n_candidates == 2, report.text  # the transient, once per frame
    assert {c["image"] for c in details["candidates"]} == {f["image"] for f in details["frames"]}
    for candidate in details["candidates"]:
        found = SkyCoord(candidate["ra_deg"] * u.deg, candidate["dec_deg"] * u.deg)
        assert found.separation(where).arcsec < 2.0, report.text
        expected = LAW.mag(candidate["minutes_after_trigger"] * 60.0)
        assert abs(candidate["mag"] - expected) < 0.3, (candidate, expected)
    assert "New source (no catalogue counterpart)" in report.text
    shown = "\n".join(report_lines(rt, _alert(rt, burst_id)))
    assert "candidates (new sources)" in shown and "New source" in shown
    quiet_report = latest_report(rt, quiet_id)
    assert quiet_report is not None and quiet_report.n_images == 2, quiet_report
    assert quiet_report.n_candidates == 0, quiet_report.text
    assert "No new source is detected" in quiet_report.text
    assert "upper limits" in quiet_report.text
    assert "candidates (new sources)" not in "\n".join(report_lines(rt, _alert(rt, quiet_id)))


def _alert(runtime, alert_id: int) -> Alert:
    with runtime.sessions() as session:
        alert = session.get(Alert, alert_id)
        session.expunge(alert)
        return alert
