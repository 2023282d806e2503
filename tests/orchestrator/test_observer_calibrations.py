"""Calibrations against the real alpaca-simulators: sky flats scaled toward the target level
within the exposure limits, bias and darks, all Image rows with IMAGETYP and their night."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from astropy.io import fits
from sqlalchemy import select

from orchestrator.clock import ManualClock
from orchestrator.config import default_config_text, parse_config
from orchestrator.errors import ConfigError
from orchestrator.model import Image
from orchestrator.observer.calibrations import (
    FlatTrial,
    exposures_used_tonight,
    in_flat_window,
    sun_altitude_deg,
    take_bias,
    take_darks,
    take_flats,
)
from orchestrator.observer.fits import night_of
from orchestrator.runtime import Runtime
from tests.device_peers import reset_alpaca
from tests.orchestrator.observer_helpers import alpaca_toml, make_observatory


def _dusk() -> datetime:
    """The first instant of the 2026-11-25 dusk when the Sun is in the default flat window."""
    config = parse_config(default_config_text(), Path("."))
    start = datetime(2026, 11, 25, 23, 30, tzinfo=UTC)
    probe = Runtime(config, ManualClock(start))
    when = start
    while not in_flat_window(probe, when):
        when += timedelta(minutes=2)
        assert when < start + timedelta(hours=4), "no dusk found"
    return when + timedelta(minutes=4)


@pytest.fixture
def dusk_observatory(tmp_path, alpaca_simulator, request):
    reset_alpaca(alpaca_simulator)
    replace = getattr(request, "param", {})
    obs = make_observatory(
        tmp_path,
        alpaca_toml(alpaca_simulator.address),
        replace=replace,
        clock=ManualClock(_dusk()),
    )
    yield obs
    obs.devices.close()
    obs.runtime.engine.dispose()


def _rows(runtime, image_type: str) -> list[Image]:
    with runtime.sessions() as session:
        rows = session.scalars(
            select(Image).where(Image.image_type == image_type).order_by(Image.id)
        ).all()
        session.expunge_all()
        return list(rows)


# The simulator's sky is steady and faint (bias 300 ADU, about 1 ADU/s more): a first
# exposure of 1 s is far from a 305 ADU target and must be scaled up.
FLATS = {
    "flat_target_adu = 25000.0": "flat_target_adu = 305.0",
    "flat_min_adu = 10000.0": "flat_min_adu = 303.0",
    "flat_max_adu = 40000.0": "flat_max_adu = 310.0",
    "flat_first_exposure_s = 2.0": "flat_first_exposure_s = 1.0",
    "flat_count = 5": "flat_count = 2",
    "flat_max_tries = 20": "flat_max_tries = 6",
}


@pytest.mark.parametrize("dusk_observatory", [FLATS], indirect=True)
def test_flats_scale_toward_the_target_and_keep_the_good_ones(dusk_observatory):
    runtime, devices = dusk_observatory.runtime, dusk_observatory.devices
    cfg = runtime.config.calibrations
    assert cfg.sun_alt_min_deg <= sun_altitude_deg(runtime) <= cfg.sun_alt_max_deg
    trials: list[FlatTrial] = []

    ids = take_flats(runtime, devices, "VIS", ["g", "r"], stop=lambda: False, trials=trials)

    assert trials[0].exposure_s == cfg.flat_first_exposure_s
    for trial in trials:
        assert cfg.flat_min_exposure_s <= trial.exposure_s <= cfg.flat_max_exposure_s
    g = [t for t in trials if t.filter_name == "g"]
    # each new exposure is the previous one scaled by the target / the median, above the bias
    for before, after in zip(g, g[1:], strict=False):
        signal_adu = max(before.median_adu - before.offset_adu, 1.0)
        expected = before.exposure_s * (cfg.flat_target_adu - before.offset_adu) / signal_adu
        assert after.exposure_s == pytest.approx(
            min(max(expected, cfg.flat_min_exposure_s), cfg.flat_max_exposure_s)
        )
    assert abs(g[-1].median_adu - cfg.flat_target_adu) < abs(g[0].median_adu - cfg.flat_target_adu)
    kept = [t for t in trials if t.kept]
    assert len(ids) == len(kept) == 4  # flat_count per filter
    flats = _rows(runtime, "flat")
    assert [f.id for f in flats] == ids
    assert sorted({f.filter_name for f in flats}) == ["g", "r"]
    night = night_of(runtime.clock.now(), runtime.config.site)
    for flat in flats:
        assert flat.night == night and flat.channel == "VIS"
        header = fits.getheader(flat.path)
        assert header["IMAGETYP"] == "FLAT" and header["FILTER"] == flat.filter_name
    assert exposures_used_tonight(runtime, night) == sorted({round(f.exposure_s, 3) for f in flats})


LIMITED = {**FLATS, "flat_max_exposure_s = 30.0": "flat_max_exposure_s = 1.5"}


@pytest.mark.parametrize("dusk_observatory", [LIMITED], indirect=True)
def test_flats_stay_within_the_exposure_limits(dusk_observatory):
    runtime, devices = dusk_observatory.runtime, dusk_observatory.devices
    trials: list[FlatTrial] = []
    ids = take_flats(runtime, devices, "VIS", ["g"], stop=lambda: False, trials=trials)
    # the sky is too faint for 1.5 s: one step up to the limit, then it gives up
    assert [t.exposure_s for t in trials] == [1.0, 1.5]
    assert ids == [] and not any(t.kept for t in trials)


@pytest.mark.parametrize("dusk_observatory", [FLATS], indirect=True)
def test_flats_stop_when_asked(dusk_observatory):
    runtime, devices = dusk_observatory.runtime, dusk_observatory.devices
    trials: list[FlatTrial] = []
    take_flats(runtime, devices, "VIS", ["g", "r"], stop=lambda: len(trials) >= 1, trials=trials)
    assert len(trials) == 1


def test_no_flats_outside_the_sun_window(tmp_path, alpaca_simulator):
    reset_alpaca(alpaca_simulator)
    noon = datetime(2026, 11, 25, 19, 0, tzinfo=UTC)  # local noon: the Sun is high
    obs = make_observatory(tmp_path, alpaca_toml(alpaca_simulator.address), clock=ManualClock(noon))
    try:
        assert take_flats(obs.runtime, obs.devices, "VIS", ["g"], stop=lambda: False) == []
        assert _rows(obs.runtime, "flat") == []
    finally:
        obs.devices.close()


def test_bias_and_darks_are_stored_per_night(dusk_observatory):
    runtime, devices = dusk_observatory.runtime, dusk_observatory.devices
    bias = take_bias(runtime, devices, "VIS", 2)
    darks = take_darks(runtime, devices, "NIR", [1.0, 2.0], 2)
    assert len(bias) == 2 and len(darks) == 4
    night = night_of(runtime.clock.now(), runtime.config.site)
    assert [(r.channel, r.exposure_s, r.night) for r in _rows(runtime, "bias")] == [
        ("VIS", 0.0, night)
    ] * 2
    assert [(r.channel, r.exposure_s) for r in _rows(runtime, "dark")] == [
        ("NIR", 1.0),
        ("NIR", 1.0),
        ("NIR", 2.0),
        ("NIR", 2.0),
    ]
    for row in _rows(runtime, "bias") + _rows(runtime, "dark"):
        header = fits.getheader(row.path)
        assert header["IMAGETYP"] == row.image_type.upper() and row.night == night


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("sun_alt_min_deg = -10.0", "sun_alt_min_deg = -2.0", "sun_alt_min_deg"),
        ("flat_max_adu = 40000.0", "flat_max_adu = 20000.0", "flat_max_adu"),
        ("flat_max_exposure_s = 30.0", "flat_max_exposure_s = 0.1", "flat_max_exposure_s"),
    ],
)
def test_calibration_config_is_validated(tmp_path, old, new, key):
    text = default_config_text()
    assert old in text
    with pytest.raises(ConfigError) as error:
        parse_config(text.replace(old, new), tmp_path)
    assert error.value.key == f"calibrations.{key}"


def test_reversed_sun_altitudes_exit_2_naming_the_key(tmp_path):
    from tests.helpers import pyros

    text = default_config_text().replace("sun_alt_min_deg = -10.0", "sun_alt_min_deg = -2.0")
    (tmp_path / "pyros.toml").write_text(text)
    result = pyros("init", cwd=tmp_path)
    assert result.returncode == 2
    assert "calibrations.sun_alt_min_deg: must be below sun_alt_max_deg" in result.stderr
