"""A synthetic star catalogue in the layout the alpaca-simulators camera reads offline.

The simulator's camera draws stars from Gaia over the internet unless `tap_source` names a
SQLite file with a table `gaia_sources(ra, dec, phot_g_mean_mag)`. We fill a declination band
around the zenith of the site (where `pyros devices check` points), so light frames show stars.
The GRB drill adds a fading transient to it (`inject_transient`, `set_transient_mag`).
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


# The GRB drill: a transient in the catalogue, so the simulated camera really sees it.


def fading_mag(m0: float, alpha: float, t0_s: float, t_s: float) -> float:
    """A power-law afterglow: m(t) = m0 + 2.5 alpha log10(t / t0), t since the trigger."""
    return m0 + 2.5 * alpha * float(np.log10(max(t_s, 1e-3) / t0_s))


def inject_transient(path: Path, ra_deg: float, dec_deg: float, mag: float) -> int:
    """Add a star at (ra, dec) with magnitude `mag`; returns its rowid (to fade or remove).

    It is marked `is_transient`: the pipeline's reference reader leaves it out, as a real
    reference catalogue would not have it."""
    with sqlite3.connect(path) as db:
        columns = {row[1] for row in db.execute(f"PRAGMA table_info({TABLE})")}
        if "is_transient" not in columns:  # the camera reads named columns only: harmless
            db.execute(f"ALTER TABLE {TABLE} ADD COLUMN is_transient INTEGER DEFAULT 0")
        rowid = db.execute(
            f"INSERT INTO {TABLE} (ra, dec, phot_g_mean_mag, is_transient) VALUES (?, ?, ?, 1)",
            (ra_deg, dec_deg, mag),
        ).lastrowid
    db.close()
    return int(rowid)


def set_transient_mag(path: Path, rowid: int, mag: float) -> None:
    """The transient's magnitude now (the drill calls it before each exposure)."""
    with sqlite3.connect(path) as db:
        db.execute(f"UPDATE {TABLE} SET phot_g_mean_mag = ? WHERE rowid = ?", (mag, rowid))
    db.close()


def remove_transient(path: Path, rowid: int) -> None:
    with sqlite3.connect(path) as db:
        db.execute(f"DELETE FROM {TABLE} WHERE rowid = ?", (rowid,))
    db.close()
