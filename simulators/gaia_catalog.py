"""A synthetic star catalogue in the layout the alpaca-simulators camera reads offline.

The simulator's camera draws stars from Gaia over the internet unless `tap_source` names a
SQLite file with a table `gaia_sources(ra, dec, phot_g_mean_mag)`. We fill a declination band
around the zenith of the site (where `pyros devices check` points), so light frames show stars.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import numpy as np

TABLE = "gaia_sources"
# Dense enough that every 47' field of the band shows >= 20 stars (plate solving, zero points).
DEFAULT_STARS = 150_000
BAND_HALF_WIDTH_DEG = 3.0


def _is_complete(path: Path, n_stars: int) -> bool:
    """A catalogue with fewer stars (an older, sparser one) is rebuilt."""
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            return db.execute(f"SELECT count(*) FROM {TABLE}").fetchone()[0] >= n_stars
    except sqlite3.Error:
        return False


def ensure_catalog(
    path: Path, center_dec_deg: float, n_stars: int = DEFAULT_STARS, seed: int = 1
) -> Path:
    """Write the catalogue at `path` unless a usable one is there; atomically."""
    if path.is_file() and _is_complete(path, n_stars):
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    dec_lo = max(-90.0, center_dec_deg - BAND_HALF_WIDTH_DEG)
    dec_hi = min(90.0, center_dec_deg + BAND_HALF_WIDTH_DEG)
    # Uniform on the sphere within the band: uniform in sin(dec).
    sin_dec = rng.uniform(np.sin(np.radians(dec_lo)), np.sin(np.radians(dec_hi)), n_stars)
    dec = np.degrees(np.arcsin(sin_dec))
    ra = rng.uniform(0.0, 360.0, n_stars)
    # Counts grow ~x3 per magnitude, as in real star counts: mostly faint stars.
    g_mag = 16.0 - rng.exponential(1.0 / np.log(3.0), n_stars).clip(0, 8)
    temporary = path.with_suffix(".tmp")
    temporary.unlink(missing_ok=True)
    with sqlite3.connect(temporary) as db:
        db.execute(f"CREATE TABLE {TABLE} (ra REAL, dec REAL, phot_g_mean_mag REAL)")
        db.executemany(
            f"INSERT INTO {TABLE} VALUES (?, ?, ?)",
            zip(ra.tolist(), dec.tolist(), g_mag.tolist(), strict=True),
        )
        db.execute(f"CREATE INDEX {TABLE}_dec ON {TABLE} (dec)")
    db.close()
    os.replace(temporary, path)
    return path
