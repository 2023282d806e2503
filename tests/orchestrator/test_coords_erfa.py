"""The fast altitude used on an alert's way to the mount (ERFA's atco13 called directly) agrees
with astropy's AltAz frame, which the rest of PyROS uses, to a few arcseconds."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import astropy.units as u
from astropy.coordinates import SkyCoord

from orchestrator.config import default_config_text, parse_config
from orchestrator.devices.coords import altaz, horizontal_deg
from orchestrator.runtime import configure_astropy_offline


def test_horizontal_deg_matches_astropy_altaz(tmp_path):
    configure_astropy_offline()  # as the device registry does: never download IERS
    site = parse_config(default_config_text(), tmp_path).site
    rng = random.Random(5)
    start = datetime(2026, 11, 26, 6, 0, tzinfo=UTC)
    for _ in range(40):
        ra_deg, dec_deg = rng.uniform(0, 360), rng.uniform(-60, 89)
        when = start + timedelta(hours=rng.uniform(0, 10))
        expected = altaz(SkyCoord(ra=ra_deg * u.deg, dec=dec_deg * u.deg), site, when)
        alt_deg, az_deg = horizontal_deg(ra_deg, dec_deg, site, when)
        assert abs(alt_deg - expected.alt.deg) < 0.002  # 7 arcsec: UT1-UTC and polar motion
        if alt_deg < 89.0:  # the azimuth is undefined at the zenith
            assert abs((az_deg - expected.az.deg + 180.0) % 360.0 - 180.0) < 0.01
