"""Small PNG previews of FITS frames for the night report (ZScale interval, asinh stretch)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

PREVIEW_PX = 192  # the longer side of a preview


def preview_png(path: Path) -> bytes | None:
    """A grey PNG of the frame's first image, at most PREVIEW_PX wide; None if unreadable."""
    import matplotlib

    matplotlib.use("Agg")
    from astropy.io import fits
    from astropy.visualization import AsinhStretch, ImageNormalize, ZScaleInterval
    from matplotlib.figure import Figure

    try:
        with fits.open(path, memmap=False) as hdus:
            data = next((h.data for h in hdus if h.data is not None and h.data.ndim >= 2), None)
            if data is None:
                return None
            data = np.asarray(data, dtype=np.float32)
    except (OSError, ValueError):
        return None
    while data.ndim > 2:
        data = data[0]
    step = max(1, int(np.ceil(max(data.shape) / PREVIEW_PX)))
    data = data[::step, ::step]
    if not np.isfinite(data).any():
        return None
    norm = ImageNormalize(data, interval=ZScaleInterval(), stretch=AsinhStretch())
    height, width = data.shape
    fig = Figure(figsize=(width / 100, height / 100), dpi=100)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.imshow(data, cmap="gray", norm=norm, origin="lower", interpolation="nearest")
    ax.set_axis_off()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
    return buffer.getvalue()
