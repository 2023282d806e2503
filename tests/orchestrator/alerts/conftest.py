"""Fixtures of the alert tests: a site initialised by `pyros init`, notices made for tonight."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from astropy.coordinates import EarthLocation
from astropy.time import Time

from orchestrator.bootstrap import init_site
from tests.conftest import REPO

VOEVENTS = REPO / "tests" / "data" / "voevents"


@pytest.fixture
def site(runtime):
    """The runtime's database after `pyros init` (alert user and program included)."""
    init_site(runtime, "secret")
    return runtime


def zenith_ra_deg(runtime, when: datetime) -> float:
    """RA on the meridian at `when`: a target there at the site's latitude is at the zenith."""
    site = runtime.config.site
    location = EarthLocation.from_geodetic(site.longitude_deg, site.latitude_deg)
    return float(Time(when).sidereal_time("mean", longitude=location.lon).deg) % 360.0


def json_notice(
    runtime,
    ident: str = "01700000001",
    err_deg: float = 0.05,
    age_s: float = 60.0,
    ra_offset_deg: float = 0.0,
    **extra,
) -> bytes:
    """An EP WXT-like unified-schema notice at the zenith, triggered `age_s` ago."""
    now = runtime.clock.now()
    body = {
        "$schema": "https://gcn.nasa.gov/schema/v4.1.0/gcn/notices/einstein_probe/wxt/alert.schema.json",
        "instrument": "WXT",
        "trigger_time": (now - timedelta(seconds=age_s)).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "id": [ident],
        "ra": round((zenith_ra_deg(runtime, now) + ra_offset_deg) % 360.0, 4),
        "dec": runtime.config.site.latitude_deg,
        "ra_dec_error": err_deg,
    }
    body.update(extra)
    return json.dumps(body).encode()


def voevent_file(name: str) -> Path:
    return VOEVENTS / name
