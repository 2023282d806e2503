"""Stacking an alert's calibrated frames when single ones are too shallow.

Frames of one filter with a WCS are shifted onto the first one's pixel grid by whole pixels
(the same pointing, tracking: no rotation or scale change expected) and summed; the sum gets
the first frame's WCS, its own sources, zero point and limiting magnitude, and is written as
`stack_<first frame>_<N>.fits` beside it, for the error-box analysis like any frame.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS

from orchestrator.pipeline.catalog import cone
from orchestrator.pipeline.extract import extract
from orchestrator.pipeline.photometry import calibrate_photometry
from orchestrator.pipeline.reduce import write_calibrated
from orchestrator.pipeline.solve import Solution


def _shift_into(total: np.ndarray, cover: np.ndarray, data: np.ndarray, dx: int, dy: int):
    h, w = data.shape
    ys, yd = (slice(0, h - dy), slice(dy, h)) if dy >= 0 else (slice(-dy, h), slice(0, h + dy))
    xs, xd = (slice(0, w - dx), slice(dx, w)) if dx >= 0 else (slice(-dx, w), slice(0, w + dx))
    total[yd, xd] += data[ys, xs]
    cover[yd, xd] += 1


def stack(paths: list[Path], catalog: Path, detect_sigma: float = 3.0) -> Path | None:
    """The sum of these calibrated frames (None if fewer than two can be stacked)."""
    frames = []
    for path in paths:
        with fits.open(path) as hdus:
            header = hdus[0].header.copy()
            if "WCSSOLVR" not in header or "ZP" not in header:
                continue
            frames.append((Path(path), hdus[0].data.astype(np.float64), header))
    if len(frames) < 2:
        return None
    ref_path, ref_data, ref_header = frames[0]
    ref_wcs = WCS(ref_header)
    h, w = ref_data.shape
    total, cover = np.zeros_like(ref_data), np.zeros_like(ref_data)
    exposure_s = 0.0
    for _, data, header in frames:
        if data.shape != ref_data.shape:
            continue
        sky = WCS(header).all_pix2world([[w / 2, h / 2]], 0)
        x, y = ref_wcs.all_world2pix(sky, 0)[0]
        _shift_into(total, cover, data, int(round(x - w / 2)), int(round(y - h / 2)))
        exposure_s += float(header.get("EXPTIME", 0.0))
    n = int(cover.max())
    # Scale to the full exposure where fewer frames covered a pixel (the frame's edges).
    summed = np.where(cover > 0, total * n / np.maximum(cover, 1), np.nan)
    summed = np.where(np.isfinite(summed), summed, np.nanmedian(summed)).astype(np.float32)
    sources = extract(summed, detect_sigma)
    scale_arcsec = float(np.mean([s.to_value("arcsec") for s in
                                  ref_wcs.proj_plane_pixel_scales()]))  # fmt: skip
    center = ref_wcs.all_pix2world(w / 2, h / 2, 0)
    stars = cone(
        catalog, float(center[0]), float(center[1]), 0.75 * np.hypot(w, h) * scale_arcsec / 3600
    )
    photometry = calibrate_photometry(
        sources, ref_wcs, stars, exposure_s, max(3.0, 1.5 * scale_arcsec)
    )
    header = ref_header.copy()
    header["EXPTIME"] = (exposure_s, "[s] sum of the stacked frames")
    header["NCOMBINE"] = (n, "frames stacked (whole-pixel shifts)")
    header["NSTARS"] = len(sources)
    for key in ("ZP", "ZPERR", "ZPNSTAR", "MAGLIM"):
        header.remove(key, ignore_missing=True)
    if photometry.zero_point_mag is not None:
        header["ZP"] = (round(photometry.zero_point_mag, 3), "[mag] zero point, 1 ADU/s")
        header["MAGLIM"] = (round(photometry.limiting_mag, 2), "[mag] 5-sigma limiting magnitude")
    for path, _, _ in frames:
        header.add_history(f"stacked: {path.name}"[:70])
    out = ref_path.with_name(f"stack_{ref_path.stem}_{n}.fits")
    solution = Solution(ref_wcs, str(header.get("WCSSOLVR")), 0, float(header.get("WCSRMS", 0)))
    write_calibrated(out, summed, header, sources, solution, photometry)
    return out
