"""Background and sources with sep: positions, fluxes, FWHM, instrumental magnitudes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sep

sep.set_extract_pixstack(2_000_000)
MAX_SOURCES = 2000


@dataclass
class Sources:
    x: np.ndarray  # 0-based pixel column
    y: np.ndarray  # 0-based pixel row
    flux: np.ndarray  # [ADU] in the aperture, background subtracted
    flux_err: np.ndarray
    fwhm_px: np.ndarray
    flag: np.ndarray
    background_adu: float
    background_rms_adu: float
    aperture_px: float

    def __len__(self) -> int:
        return len(self.x)

    def inst_mag(self, exposure_s: float) -> np.ndarray:
        """-2.5 log10(ADU/s); NaN where the flux is not positive."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return -2.5 * np.log10(self.flux / max(exposure_s, 1e-6))

    def mag_err(self) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return 1.0857 * self.flux_err / self.flux


def extract(data: np.ndarray, detect_sigma: float = 3.0) -> Sources:
    """Sources of a calibrated image, brightest first (at most MAX_SOURCES)."""
    data = np.ascontiguousarray(data, dtype=np.float32)
    background = sep.Background(data, bw=64, bh=64, fw=3, fh=3)
    image = data - background.back()
    rms = float(background.globalrms) or 1.0
    try:
        objects = sep.extract(image, detect_sigma, err=rms, minarea=5)
    except Exception:  # sep raises plain Exceptions when a frame is pathological
        objects = np.empty(0, dtype=[("x", "f8"), ("y", "f8"), ("flux", "f8"), ("flag", "i4")])
    objects = objects[np.argsort(-objects["flux"])][:MAX_SOURCES]
    if len(objects) == 0:
        empty = np.empty(0)
        return Sources(
            empty,
            empty,
            empty,
            empty,
            empty,
            empty.astype(int),
            float(background.globalback),
            rms,
            3.0,
        )
    radius, _ = sep.flux_radius(
        image, objects["x"], objects["y"], 6.0 * objects["a"], 0.5, subpix=5
    )
    fwhm = 2.0 * radius  # half-light diameter; equals the FWHM for a Gaussian star
    good = (objects["flag"] == 0) & np.isfinite(fwhm) & (fwhm > 0.5)
    typical = float(np.median(fwhm[good])) if good.any() else 3.0
    aperture = max(2.0, 1.5 * typical)
    flux, flux_err, flag = sep.sum_circle(
        image, objects["x"], objects["y"], aperture, err=rms, gain=1.0
    )
    return Sources(
        objects["x"].astype(float),
        objects["y"].astype(float),
        np.asarray(flux, dtype=float),
        np.asarray(flux_err, dtype=float),
        np.asarray(fwhm, dtype=float),
        np.asarray(objects["flag"] | flag, dtype=int),
        float(background.globalback),
        rms,
        aperture,
    )
