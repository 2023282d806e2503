"""PNG previews of FITS frames, for the dashboard and the night report: the first image plane
block-averaged to at most `longest_px`, stretched with astropy.visualization (ZScale interval,
asinh stretch), grey, north (the FITS rows' bottom) down the PNG as astronomers expect.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np


def first_image(path: Path) -> np.ndarray:
    """The first image plane of the file as float32; ValueError when it has none."""
    from astropy.io import fits

    with fits.open(path, memmap=False) as hdus:
        for hdu in hdus:
            if hdu.data is not None and hdu.data.ndim >= 2:
                data = np.asarray(hdu.data, dtype=np.float32)
                while data.ndim > 2:  # a cube: its first plane
                    data = data[0]
                return data
    raise ValueError(f"{path.name}: no image in the FITS file")


def shrink(data: np.ndarray, longest_px: int) -> np.ndarray:
    """Block mean by an integer factor so that the longest side is at most `longest_px`."""
    factor = int(np.ceil(max(data.shape) / longest_px))
    if factor <= 1:
        return data
    h, w = (data.shape[0] // factor) * factor, (data.shape[1] // factor) * factor
    return data[:h, :w].reshape(h // factor, factor, w // factor, factor).mean(axis=(1, 3))


def png_preview(path: Path, longest_px: int) -> bytes:
    """The PNG of a FITS frame; OSError or ValueError when it is unreadable or all NaN."""
    from astropy.visualization import AsinhStretch, ZScaleInterval
    from PIL import Image as PILImage

    data = shrink(first_image(path), longest_px)
    if not np.isfinite(data).any():
        raise ValueError(f"{path.name}: no finite pixel")
    data = np.where(np.isfinite(data), data, np.nanmedian(data))
    # interval then stretch by hand: ImageNormalize would need matplotlib for this alone
    low, high = ZScaleInterval().get_limits(data)
    unit = np.clip((data - low) / max(high - low, 1e-9), 0.0, 1.0)
    pixels = (AsinhStretch()(unit, clip=True) * 255).round().astype(np.uint8)
    buffer = io.BytesIO()
    # FITS rows go up from the bottom; a PNG's go down from the top
    PILImage.fromarray(pixels[::-1]).save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()
