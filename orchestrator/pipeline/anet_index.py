"""astrometry.net index files built from the reference catalogue (`build-astrometry-index`).

Debian ships only Tycho-2 indexes (too sparse for narrow fields, and unrelated to the
simulator's synthetic stars), so the pipeline builds its own from the catalogue it matches
against: scales P = 4..8 (quads of ~8' to ~40', fields of ~25' to ~2 deg). A build is cached
in the target folder under a key of the catalogue's content and the region; a second call
with the same inputs returns at once.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
from astropy.io import fits

from orchestrator.pipeline.catalog import cone

SCALES = (4, 5, 6, 7, 8)


class IndexBuildError(Exception):
    """The index could not be built; the message says why."""


def _key(catalog: Path, region: tuple[float, float, float] | None) -> str:
    digest = hashlib.sha256(Path(catalog).read_bytes())
    digest.update(repr(region).encode())
    return digest.hexdigest()[:16]


def ensure_index(
    catalog: Path, out_dir: Path, region: tuple[float, float, float] | None = None
) -> Path:
    """Index files of `catalog` (or of a cone `region` = (ra, dec, radius) deg) in out_dir."""
    if shutil.which("build-astrometry-index") is None:
        raise IndexBuildError(
            "build-astrometry-index is not installed (Debian package astrometry.net)"
        )
    out_dir = Path(out_dir)
    key = _key(catalog, region)
    stamp = out_dir / f"index-pyros-{key}.done"
    if stamp.is_file():
        return out_dir
    if region is None:
        stars = cone(catalog, 0.0, 0.0, 180.0)
    else:
        stars = cone(catalog, *region)
    if len(stars) < 20:
        raise IndexBuildError(f"only {len(stars)} catalogue stars in the region")
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob("index-pyros-*"):
        old.unlink()
    with tempfile.TemporaryDirectory(prefix="pyros-index-") as tmp:
        table = Path(tmp) / "catalog.fits"
        fits.BinTableHDU.from_columns(
            [
                fits.Column("RA", "D", array=stars.ra_deg),
                fits.Column("DEC", "D", array=stars.dec_deg),
                fits.Column("MAG", "E", array=np.asarray(stars.mag, np.float32)),
            ]
        ).writeto(table)
        for scale in SCALES:
            target = Path(tmp) / f"index-pyros-{key}-{scale:02d}.fits"
            unique_id = int(key[:5], 16) * 100 + scale
            argv = [
                "build-astrometry-index", "-i", str(table), "-o", str(target), "-P", str(scale),
                "-S", "MAG", "-E", "-A", "RA", "-D", "DEC", "-I", str(unique_id), "-M",
            ]  # fmt: skip
            done = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False)
            if done.returncode != 0 or not target.is_file():
                raise IndexBuildError(f"build-astrometry-index -P {scale}: {done.stderr[-200:]}")
            shutil.move(str(target), out_dir / target.name)
    stamp.write_text(str(catalog))
    return out_dir
