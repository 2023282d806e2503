"""The reference catalogue: stars (RA, Dec, magnitude) around a field, from a SQLite file.

The layout is the one the simulator's camera reads (`gaia_sources(ra, dec,
phot_g_mean_mag)`), so the embedded simulator's own stars are the reference offline; a site
points `pipeline.catalog_path` at an extract of a real catalogue in the same layout.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from orchestrator.config import Config


@dataclass
class Stars:
    ra_deg: np.ndarray
    dec_deg: np.ndarray
    mag: np.ndarray

    def __len__(self) -> int:
        return len(self.ra_deg)


def catalog_path(config: Config) -> Path:
    from simulators.alpaca_sim import CATALOG_NAME

    return config.pipeline.catalog_path or (config.folders.data / CATALOG_NAME)


_loaded: dict[Path, tuple[float, np.ndarray]] = {}


def _table(path: Path) -> np.ndarray:
    """The whole catalogue as (N, 3) RA, Dec, mag, read once per file version (mtime)."""
    path = Path(path).resolve()
    mtime = path.stat().st_mtime
    cached = _loaded.get(path)
    if cached is not None and cached[0] == mtime:
        return cached[1]
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        columns = {row[1] for row in db.execute("PRAGMA table_info(gaia_sources)")}
        # The simulator's drill adds transients to the sky it renders: not reference stars.
        real = " WHERE coalesce(is_transient, 0) = 0" if "is_transient" in columns else ""
        rows = db.execute("SELECT ra, dec, phot_g_mean_mag FROM gaia_sources" + real).fetchall()
    db.close()
    table = np.asarray(rows, dtype=float).reshape(-1, 3)
    table = table[np.argsort(table[:, 1])]  # by Dec, for a binary search of the band
    _loaded.clear()  # one catalogue per process
    _loaded[path] = (mtime, table)
    return table


def cone(path: Path, ra_deg: float, dec_deg: float, radius_deg: float) -> Stars:
    """Stars within `radius_deg` of the centre (empty if the file is missing)."""
    if not Path(path).is_file():
        return Stars(np.empty(0), np.empty(0), np.empty(0))
    table = _table(path)
    lo, hi = np.searchsorted(table[:, 1], [dec_deg - radius_deg, dec_deg + radius_deg])
    table = table[lo:hi]
    ra_half = radius_deg / max(np.cos(np.radians(min(abs(dec_deg) + radius_deg, 89.9))), 1e-3)
    if not len(table):
        return Stars(np.empty(0), np.empty(0), np.empty(0))
    dra = (table[:, 0] - ra_deg + 180.0) % 360.0 - 180.0
    keep = np.abs(dra) <= ra_half
    table = table[keep]
    ra, dec = np.radians(table[:, 0]), np.radians(table[:, 1])
    ra0, dec0 = np.radians(ra_deg), np.radians(dec_deg)
    cos_sep = np.sin(dec) * np.sin(dec0) + np.cos(dec) * np.cos(dec0) * np.cos(ra - ra0)
    inside = np.degrees(np.arccos(np.clip(cos_sep, -1, 1))) <= radius_deg
    table = table[inside]
    return Stars(table[:, 0], table[:, 1], table[:, 2])
