"""FITS files: headers (with the weather synthesis at exposure time), naming, atomic writes,
the Image row (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.io import fits
from sqlalchemy import select

from orchestrator.model import Image, WeatherWatch, WeatherWatchHistory
from orchestrator.observer.fits import Exposure, image_path, night_of, save_image, write_fits

M42 = SkyCoord(ra=83.8221 * u.deg, dec=-5.3911 * u.deg)


def _exposure(when: datetime, **extra) -> Exposure:
    values = dict(
        channel="VIS",
        image_type="light",
        date_obs=when,
        exposure_s=30.0,
        instrument="test camera",
        filter_name="r",
        object_name="M42 / Orion",
        target=M42,
        mount_position=M42,
        ccd_temp_c=-60.0,
        bin_x=2,
        bin_y=2,
        gain=1.0,
        request_id=7,
    )
    values.update(extra)
    return Exposure(**values)


def _weather(table, when: datetime, humidity_pct: float):
    return table(
        measured=when,
        is_safe=True,
        humidity_pct=humidity_pct,
        wind_speed_m_s=4.0,
        temperature_c=3.5,
        rain_rate_mm_h=0.0,
        pressure_hpa=742.0,
    )


def test_night_folder_is_the_local_evening_date(runtime):
    site = runtime.config.site  # America/Tijuana, UTC-8 in November
    assert night_of(datetime(2026, 11, 25, 4, 0, tzinfo=UTC), site) == "20261124"
    assert night_of(datetime(2026, 11, 25, 13, 0, tzinfo=UTC), site) == "20261124"
    assert night_of(datetime(2026, 11, 26, 3, 0, tzinfo=UTC), site) == "20261125"
    assert night_of(datetime(2026, 11, 25, 21, 0, tzinfo=UTC), site) == "20261125"  # 13:00 local
    path = image_path(runtime.config.folders.images, _exposure(runtime.clock.now()), site)
    assert path.relative_to(runtime.config.folders.images).as_posix() == (
        "20261124/VIS/20261125T040000000_VIS_light_M42-Orion_r_30s.fits"
    )


def test_save_image_writes_headers_with_weather_and_stores_the_row(runtime):
    runtime.clock.advance(5 * 3600)  # 09:00 UTC, 01:00 local: M42 near transit
    now = runtime.clock.now()
    with runtime.sessions.begin() as s:
        s.add(_weather(WeatherWatchHistory, now - timedelta(seconds=30), 99.0))  # stale
        s.add(_weather(WeatherWatchHistory, now - timedelta(seconds=2), 41.0))
        s.add(_weather(WeatherWatchHistory, now + timedelta(seconds=1), 77.0))  # after
    data = np.arange(12, dtype=np.uint16).reshape(3, 4)
    row = save_image(runtime, data, _exposure(now))
    with runtime.sessions() as s:
        stored = s.scalar(select(Image))
        assert (stored.id, stored.channel, stored.filter_name) == (row.id, "VIS", "r")
        assert stored.date_obs == now and stored.exposure_s == 30.0
    with fits.open(row.path) as hdul:
        h, back = hdul[0].header, hdul[0].data
    assert np.array_equal(back, data)
    assert h["DATE-OBS"] == "2026-11-25T09:00:00.000"
    assert (h["IMAGETYP"], h["FILTER"], h["OBJECT"]) == ("LIGHT", "r", "M42 / Orion")
    assert h["RA"] == pytest.approx(83.8221) and h["TELDEC"] == pytest.approx(-5.3911)
    # Transit altitude is 90 - |31.04 + 5.39| = 53.6 deg.
    assert 45 < h["ALT"] <= 53.6
    assert h["AIRMASS"] == pytest.approx(1 / np.sin(np.radians(h["ALT"])), rel=0.01)
    assert (h["XBINNING"], h["YBINNING"], h["CCD-TEMP"], h["GAIN"]) == (2, 2, -60.0, 1.0)
    assert (h["SITELAT"], h["SITELONG"], h["SITEELEV"]) == (31.0442, -115.4637, 2790.0)
    assert h["REQID"] == 7 and "SEQID" not in h
    assert h["HUMIDITY"] == 41.0 and h["WXSAFE"] is True  # the fresh one, not later/stale


def test_no_fresh_weather_means_no_weather_cards(runtime):
    now = runtime.clock.now()
    with runtime.sessions.begin() as s:
        s.add(_weather(WeatherWatch, now - timedelta(minutes=10), 50.0))
    row = save_image(runtime, np.zeros((2, 2), np.uint16), _exposure(now, image_type="dark"))
    h = fits.getheader(row.path)
    assert "HUMIDITY" not in h and "WXTIME" not in h and h["IMAGETYP"] == "DARK"


def test_write_is_atomic_and_leaves_nothing_on_failure(tmp_path):
    path = tmp_path / "night" / "a.fits"
    write_fits(path, np.ones((2, 2), np.int16), fits.Header())
    before = path.read_bytes()
    with pytest.raises(Exception):  # noqa: B017 - astropy refuses object arrays
        write_fits(path, np.array([[object()]]), fits.Header())
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir()] == ["a.fits"]


def test_bad_exposure_is_refused_naming_the_field():
    with pytest.raises(ValueError, match="image_type"):
        _exposure(datetime(2026, 1, 1, tzinfo=UTC), image_type="science")
    with pytest.raises(ValueError, match="date_obs"):
        _exposure(datetime(2026, 1, 1))


def test_long_values_keep_their_cards_within_80_characters_without_warnings(tmp_path):
    import warnings

    from orchestrator.config import default_config_text, parse_config
    from orchestrator.observer.fits import fits_header
    from orchestrator.runtime import configure_astropy_offline

    configure_astropy_offline()
    site = parse_config(default_config_text(), tmp_path).site
    exposure = _exposure(
        datetime(2026, 11, 25, 5, tzinfo=UTC),
        object_name="A" * 80,
        instrument="a camera with a very long model name, serial and firmware " * 2,
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        header = fits_header(exposure, site)
        write_fits(tmp_path / "x.fits", np.zeros((4, 4), np.uint16), header)
        read = fits.getheader(tmp_path / "x.fits")
    assert [str(w.message) for w in caught] == []
    assert read["OBJECT"] == "A" * 68  # the value is whole; only comments gave way
    assert all(len(card.image) == 80 for card in read.cards)
