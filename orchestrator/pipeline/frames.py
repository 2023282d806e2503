"""Reading frames for the pipeline: one clear reason for every file it cannot use.

`load_frame` returns the image as float32 with its header, or raises `FrameError` naming
why (not FITS, no data, all NaN, saturated); the caller marks the frame and goes on.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from astropy.io import fits

SATURATION_ADU = 65535.0  # 16-bit cameras, unless the header says SATURATE
SATURATED_FRACTION_MAX = 0.5


class FrameError(Exception):
    """A frame the pipeline cannot use; the message is the reason stored with it."""


@dataclass
class Frame:
    path: Path
    data: np.ndarray  # float32, native byte order
    header: fits.Header

    @property
    def shape(self) -> tuple[int, int]:
        return self.data.shape  # (height, width)

    @property
    def binning(self) -> tuple[int, int]:
        return int(self.header.get("XBINNING", 1)), int(self.header.get("YBINNING", 1))

    @property
    def exposure_s(self) -> float:
        return float(self.header.get("EXPTIME", self.header.get("EXPOSURE", 0.0)) or 0.0)

    @property
    def image_type(self) -> str:
        return str(self.header.get("IMAGETYP", "light")).strip().lower()

    @property
    def filter_name(self) -> str:
        return str(self.header.get("FILTER", "NONE")).strip()

    @property
    def channel(self) -> str:
        return str(self.header.get("CHANNEL", "VIS")).strip()

    @property
    def date_obs(self) -> datetime | None:
        text = self.header.get("DATE-OBS")
        if not text:
            return None
        try:
            when = datetime.fromisoformat(str(text))
        except ValueError:
            return None
        return when if when.tzinfo else when.replace(tzinfo=UTC)


def load_frame(path: Path) -> Frame:
    """The first image HDU of `path` as float32; FrameError if it cannot be used."""
    path = Path(path)
    if not path.is_file():
        raise FrameError(f"no such file: {path}")
    try:
        with fits.open(path, memmap=False) as hdus:
            hdu = next((h for h in hdus if h.data is not None and h.is_image), None)
            if hdu is None:
                raise FrameError("no image data in the FITS file")
            data = np.asarray(hdu.data, dtype=np.float32)
            header = hdus[0].header.copy()
            if hdu is not hdus[0]:
                header.update(hdu.header)
    except FrameError:
        raise
    except (OSError, ValueError, TypeError) as exc:
        raise FrameError(f"not a FITS file ({str(exc)[:80]})") from None
    if data.ndim != 2 or min(data.shape) < 8:
        raise FrameError(f"not a 2-D image (shape {data.shape})")
    finite = np.isfinite(data)
    if not finite.any():
        raise FrameError("image is all NaN")
    saturate = float(header.get("SATURATE", SATURATION_ADU))
    if np.count_nonzero(data[finite] >= saturate * 0.99) > SATURATED_FRACTION_MAX * data.size:
        raise FrameError("image is saturated (over half the pixels at full scale)")
    if not finite.all():
        data = np.where(finite, data, np.nanmedian(data)).astype(np.float32)
    return Frame(path, np.ascontiguousarray(data), header)


def write_frame(path: Path, data: np.ndarray, header: fits.Header) -> Path:
    """Atomic write (temporary file in the same folder, then rename), like the FITS writer."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fits.PrimaryHDU(data=np.asarray(data, dtype=np.float32), header=header).writeto(
            temporary, overwrite=True
        )
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path
