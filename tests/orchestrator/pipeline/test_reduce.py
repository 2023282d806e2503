"""Masters, calibration, sources, WCS and zero point on real simulator frames."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS
from sqlalchemy import select

from orchestrator.model import Image, MasterFrame
from orchestrator.pipeline.catalog import cone
from orchestrator.pipeline.masters import build_masters
from orchestrator.pipeline.reduce import reduce_frame
from orchestrator.pipeline.solve import match
from tests.orchestrator.pipeline.conftest import load_night

NIGHT = "20261124"  # local date at the start of the night of 2026-11-25 04:00 UTC


def _lights(runtime):
    with runtime.sessions() as session:
        return list(session.scalars(select(Image).where(Image.image_type == "light")))


def test_masters_are_built_with_provenance(night_runtime, sim_night):
    ids = load_night(night_runtime, sim_night, ("bias", "dark", "flat"))
    built, notes = build_masters(night_runtime, NIGHT)
    kinds = sorted((m.kind, m.exposure_s, m.filter_name) for m in built)
    assert kinds == [("bias", None, None), ("dark", 0.1, None), ("flat", None, "NONE")]
    assert notes == []
    for master in built:
        header = fits.getheader(master.path)
        assert header["NCOMBINE"] == 3
        assert sum("source" in h for h in header["HISTORY"]) == 3
        assert set(json.loads(master.source_image_ids)) <= set(ids)
        assert (master.width_px, master.height_px, master.bin_x) == (256, 256, 4)
    flat = fits.getdata(next(m.path for m in built if m.kind == "flat"))
    assert abs(float(np.median(flat)) - 1.0) < 0.01  # normalised
    bias = fits.getdata(next(m.path for m in built if m.kind == "bias"))
    raw_bias = fits.getdata(sim_night.rows[0].path).astype(float)
    assert abs(float(np.median(bias)) - float(np.median(raw_bias))) < 5


def test_light_frame_calibrated_solved_and_measured(night_runtime, sim_night):
    load_night(night_runtime, sim_night)
    build_masters(night_runtime, NIGHT)
    light = _lights(night_runtime)[0]
    result = reduce_frame(night_runtime, Path(light.path))
    assert result.ok and result.solver == "builtin", result.notes
    assert result.notes == []
    header = fits.getheader(result.calibrated_path)
    assert header["CALSTAT"] == "BDF"
    assert header["MBIAS"].startswith("master_bias") and header["MFLAT"].startswith("master_flat")
    # The WCS puts the catalogue stars on the extracted sources (pixels are 11" binned).
    wcs = WCS(header)
    table = fits.getdata(result.calibrated_path, "SOURCES")
    assert len(table) >= 20
    stars = cone(sim_night.catalog, *wcs.wcs.crval, 0.6)
    from orchestrator.pipeline.extract import Sources

    sources = Sources(table["X"], table["Y"], table["FLUX"], table["FLUX"], table["FWHM"],
                      table["FLAG"], 0, 1, 2)  # fmt: skip
    si, _, sep = match(wcs, sources, stars, 6.0)
    assert len(si) >= 0.8 * len(table)
    assert float(np.median(sep)) < 4.5  # 0.4 of an 11" binned pixel
    # The zero point turns instrumental magnitudes into the catalogue's.
    assert 20 < result.zero_point_mag < 32
    assert 14 < result.limiting_mag < 22
    assert 2.0 < result.fwhm_arcsec < 30.0
    assert header["ZP"] == result.zero_point_mag and header["MAGLIM"] == result.limiting_mag


def test_missing_master_is_said_in_header_and_notes(night_runtime, sim_night):
    load_night(night_runtime, sim_night, ("bias", "light"))  # no darks, no flats
    build_masters(night_runtime, NIGHT)
    with night_runtime.sessions() as session:
        assert {m.kind for m in session.scalars(select(MasterFrame))} == {"bias"}
    result = reduce_frame(night_runtime, Path(_lights(night_runtime)[0].path))
    header = fits.getheader(result.calibrated_path)
    assert header["CALSTAT"] == "B"
    assert header["MDARK"] == "none" and header["MFLAT"] == "none"
    assert "no master dark for VIS 256x256 bin 4x4" in result.notes
    assert "no master flat for filter NONE for VIS 256x256 bin 4x4" in result.notes
    assert any("no master dark" in h for h in header["HISTORY"])


def test_master_of_another_binning_is_not_used_and_the_reason_names_it(night_runtime, sim_night):
    load_night(night_runtime, sim_night)
    build_masters(night_runtime, NIGHT)
    light = Path(_lights(night_runtime)[0].path)
    with fits.open(light) as hdus:  # the same frame binned 2x2 more: 128², bin 8
        data = hdus[0].data.astype(np.float64)
        header = hdus[0].header.copy()
    binned = data.reshape(128, 2, 128, 2).sum(axis=(1, 3))
    header["XBINNING"] = header["YBINNING"] = 8
    other = light.with_name("binned8.fits")
    fits.PrimaryHDU(binned.astype(np.float32), header).writeto(other)
    result = reduce_frame(night_runtime, other)
    assert result.ok
    assert "no master bias for VIS 128x128 bin 8x8 (newest is 256x256 bin 4x4)" in result.notes
    assert fits.getheader(result.calibrated_path)["CALSTAT"] == "none"
