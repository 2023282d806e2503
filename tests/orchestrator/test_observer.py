"""The observer against the real alpaca-simulators: a sequence runs VIS and NIR in parallel,
an abort ends it at once, a low target is refused before any move, a hung device fails it
naming the role and the action."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest
from astropy.io import fits
from sqlalchemy import select

from orchestrator.devices.coords import altaz
from orchestrator.model import Image, Sequence, SequenceStatus, WeatherWatch
from orchestrator.observer import ExecutionResult, Observer, ObserverBusy
from tests.device_peers import reset_alpaca
from tests.helpers import stop_process, wait_for
from tests.orchestrator.observer_helpers import (
    alpaca_toml,
    make_observatory,
    sky_request,
    start_simulator,
    used_h,
)


@pytest.fixture
def observatory(tmp_path, alpaca_simulator):
    reset_alpaca(alpaca_simulator)
    # a weather synthesis stored once stays fresh for the whole test (the gateway's job)
    fresh = {"stale_after_s = 10.0 ": "stale_after_s = 600.0"}
    obs = make_observatory(tmp_path, alpaca_toml(alpaca_simulator.address), replace=fresh)
    yield obs
    obs.devices.close()
    obs.runtime.engine.dispose()
    # the simulator's AbortExposure lets an exposure run on: leave idle cameras to the next test
    reset_alpaca(alpaca_simulator)


def _sequence(runtime, sequence_id: int) -> Sequence:
    with runtime.sessions() as session:
        sequence = session.get(Sequence, sequence_id)
        for album in sequence.albums:
            list(album.plans)
        session.expunge_all()
        return sequence


def _images(runtime, sequence_id: int) -> list[Image]:
    with runtime.sessions() as session:
        rows = session.scalars(
            select(Image).where(Image.sequence_id == sequence_id).order_by(Image.date_obs)
        ).all()
        session.expunge_all()
        return list(rows)


def _in_background(observer: Observer, sequence_id: int) -> tuple[threading.Thread, dict]:
    box: dict = {}
    thread = threading.Thread(
        target=lambda: box.setdefault("result", observer.execute(sequence_id)), daemon=True
    )
    thread.start()
    return thread, box


def test_a_sequence_executes_vis_and_nir_in_parallel(observatory):
    runtime, devices = observatory.runtime, observatory.devices
    sequence_id = sky_request(runtime, exposure_s=1.0, count=2)
    with runtime.sessions.begin() as session:
        session.add(
            WeatherWatch(
                measured=runtime.clock.now(), is_safe=True, humidity_pct=41.5, wind_speed_m_s=3.2
            )
        )
    before_h = used_h(runtime)
    duration_h = _sequence(runtime, sequence_id).duration_s / 3600.0

    result = Observer(runtime, devices).execute(sequence_id)

    assert result == ExecutionResult(sequence_id, "executed", None, "", 10), result
    sequence = _sequence(runtime, sequence_id)
    assert sequence.status == SequenceStatus.EXECUTED and sequence.progress == ""
    assert [a.status for a in sequence.albums] == ["done", "done"]
    assert [(p.status, p.frames_done) for a in sequence.albums for p in a.plans] == [
        ("done", 2)
    ] * 5
    assert used_h(runtime) == pytest.approx(before_h + duration_h)

    images = _images(runtime, sequence_id)
    assert sorted((i.channel, i.filter_name) for i in images) == sorted(
        [("VIS", f) for f in "ggrrii"] + [("NIR", f) for f in "JJHH"]
    )
    for image in images:
        assert image.image_type == "light" and image.plan_id is not None and image.night
        header = fits.getheader(image.path)
        assert header["IMAGETYP"] == "LIGHT" and header["FILTER"] == image.filter_name
        assert header["OBJECT"] == "M42" and header["SEQID"] == sequence_id
        assert abs(header["RA"] - sequence.ra_deg) < 1e-4
        assert abs(header["DEC"] - sequence.dec_deg) < 1e-4
        assert abs(header["TELDEC"] - header["DEC"]) < 0.1
        assert Path(image.path).parent.name == image.channel
        assert header["WXSAFE"] is True and header["HUMIDITY"] == 41.5
        assert header["WINDSPD"] == 3.2
    # VIS and NIR ran at once: some VIS exposure overlaps some NIR exposure in time
    spans = {
        ch: [
            (i.date_obs, i.date_obs + timedelta(seconds=i.exposure_s))
            for i in images
            if i.channel == ch
        ]
        for ch in ("VIS", "NIR")
    }
    assert any(v0 < n1 and n0 < v1 for v0, v1 in spans["VIS"] for n0, n1 in spans["NIR"]), spans
    # the dome slit was turned to the target
    target_az = altaz(
        devices.get("mount").position(), runtime.config.site, runtime.clock.now()
    ).az.deg
    dome_az = devices.get("dome").azimuth_deg()
    assert abs((dome_az - target_az + 180) % 360 - 180) < 5


def test_weather_abort_ends_a_long_exposure_at_once_and_refunds(observatory):
    runtime, devices = observatory.runtime, observatory.devices
    sequence_id = sky_request(runtime, exposure_s=600.0, count=1)
    before_h = used_h(runtime)
    observer = Observer(runtime, devices)
    thread, box = _in_background(observer, sequence_id)
    cameras = [devices.get(r).device.client for r in ("camera_vis", "camera_nir")]
    wait_for(lambda: all(c.CameraState == 2 for c in cameras), 60, what="both cameras exposing")
    assert observer.busy and observer.sequence_id == sequence_id
    assert used_h(runtime) > before_h  # charged at start
    progress = _sequence(runtime, sequence_id).progress
    assert progress == "NIR plan 1/2 J frame 1/1 · VIS plan 1/3 g frame 1/1", (
        progress
    )  # what `pyros status` shows
    with pytest.raises(ObserverBusy):
        observer.execute(sequence_id)

    observer.abort("weather", "rain detected")
    thread.join(10)
    assert not thread.is_alive()

    result = box["result"]
    assert (result.status, result.cause, result.reason) == ("failed", "weather", "rain detected")
    assert result.frames == 0 and not observer.busy and observer.sequence_id is None
    assert sorted(role for role, _ in observer.aborts_sent) == ["camera_nir", "camera_vis"]
    sequence = _sequence(runtime, sequence_id)
    assert sequence.status == SequenceStatus.TO_BE_PLANNED  # back to the pool
    assert sequence.status_reason == "weather: rain detected"
    assert {p.status for a in sequence.albums for p in a.plans} == {"failed"}
    assert used_h(runtime) == pytest.approx(before_h)  # refunded


def _retarget(runtime, sequence_id: int, alt_deg: float, az_deg: float) -> None:
    from orchestrator.devices.coords import from_altaz

    target = from_altaz(alt_deg, az_deg, runtime.config.site, runtime.clock.now())
    with runtime.sessions.begin() as session:
        sequence = session.get(Sequence, sequence_id)
        sequence.ra_deg, sequence.dec_deg = target.ra.deg, target.dec.deg


@pytest.mark.parametrize(
    ("alt_deg", "min_altitude_deg", "words"),
    [(-20.0, 35.0, "below the horizon"), (50.0, 60.0, "altitude limit (min_altitude_deg = 60)")],
)
def test_a_low_target_is_refused_before_any_move(observatory, alt_deg, min_altitude_deg, words):
    runtime, devices = observatory.runtime, observatory.devices
    mount = devices.get("mount")
    before = mount.position()
    parked = mount.is_parked()
    sequence_id = sky_request(runtime, min_altitude_deg=min_altitude_deg)
    _retarget(runtime, sequence_id, alt_deg, 90.0)
    charged_h = used_h(runtime)

    result = Observer(runtime, devices).execute(sequence_id)

    assert (result.status, result.cause, result.frames) == ("failed", "user", 0)
    assert result.reason.startswith("mount: slew: target at altitude") and words in result.reason
    assert mount.is_parked() == parked and not mount.is_slewing()
    assert mount.position().separation(before).deg < 0.5
    sequence = _sequence(runtime, sequence_id)
    assert sequence.status == SequenceStatus.FAILED  # the request's fault: stays failed
    assert sequence.status_reason.startswith("request: mount: slew")
    assert used_h(runtime) > charged_h  # not refunded


@pytest.mark.parametrize("role", ["camera_nir", "mount"])
def test_a_device_that_stops_answering_fails_the_sequence_naming_it(
    tmp_path, alpaca_simulator, role
):
    """`role` is served by a simulator of its own, killed mid-exposure or mid-slew."""
    reset_alpaca(alpaca_simulator)
    process, address = start_simulator(tmp_path / "private")
    obs = make_observatory(
        tmp_path, alpaca_toml(alpaca_simulator.address, overrides={role: address})
    )
    try:
        runtime, devices = obs.runtime, obs.devices
        sequence_id = sky_request(runtime, exposure_s=3.0, count=2)
        before_h = used_h(runtime)
        observer = Observer(runtime, devices)
        thread, box = _in_background(observer, sequence_id)
        client = devices.get(role).device.client
        busy = (lambda: client.CameraState == 2) if role != "mount" else (lambda: client.Slewing)
        wait_for(busy, 60, 0.01, what=f"{role} busy")
        process.kill()
        thread.join(60)
        assert not thread.is_alive()
        result = box["result"]
        assert (result.status, result.cause) == ("failed", "device"), result
        assert result.reason.startswith(f"{role}: "), result.reason
        action = result.reason.split(": ")[1]
        assert action == ("wait_exposure" if role != "mount" else "wait_slew"), result.reason
        sequence = _sequence(runtime, sequence_id)
        assert sequence.status == SequenceStatus.TO_BE_PLANNED
        assert sequence.status_reason.startswith(f"device: {role}: ")
        assert used_h(runtime) == pytest.approx(before_h)
    finally:
        stop_process(process)
        obs.devices.close()
        obs.runtime.engine.dispose()
