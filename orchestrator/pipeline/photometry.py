"""Photometric zero point from catalogue stars in the field, and the limiting magnitude."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from astropy.stats import sigma_clipped_stats
from astropy.wcs import WCS

from orchestrator.pipeline.catalog import Stars
from orchestrator.pipeline.extract import Sources
from orchestrator.pipeline.solve import match

LIMIT_SIGMA = 5.0


@dataclass
class Photometry:
    zero_point_mag: float | None
    zero_point_err_mag: float | None
    n_calibrators: int
    limiting_mag: float | None  # 5-sigma point source in the aperture
    mags: np.ndarray  # calibrated magnitude of every source (NaN without a zero point)
    mag_errs: np.ndarray


def limiting_flux_adu(sources: Sources) -> float:
    return LIMIT_SIGMA * sources.background_rms_adu * np.sqrt(np.pi) * sources.aperture_px


def calibrate_photometry(
    sources: Sources, wcs: WCS, stars: Stars, exposure_s: float, radius_arcsec: float
) -> Photometry:
    inst = sources.inst_mag(exposure_s)
    errs = sources.mag_err()
    si, ci, _ = match(wcs, sources, stars, radius_arcsec)
    usable = (sources.flag[si] == 0) & np.isfinite(inst[si]) & (errs[si] < 0.2)
    si, ci = si[usable], ci[usable]
    if len(si) < 3:
        return Photometry(None, None, int(len(si)), None, np.full(len(sources), np.nan), errs)
    deltas = stars.mag[ci] - inst[si]
    _, zp, std = sigma_clipped_stats(deltas, sigma=3.0)
    zp, std = float(zp), float(std)
    limit_flux = limiting_flux_adu(sources)
    limiting = zp - 2.5 * np.log10(limit_flux / max(exposure_s, 1e-6))
    return Photometry(
        zp, std / np.sqrt(len(si)), int(len(si)), float(limiting), inst + zp,
        np.hypot(errs, std),
    )  # fmt: skip
