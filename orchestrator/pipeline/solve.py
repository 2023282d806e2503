"""Plate solving through a port: a fast built-in solver and astrometry.net's solve-field.

Built-in: a TAN WCS from the pointing (TELRA/TELDEC, else RA/DEC) and the plate scale, for
each of the 8 axis orientations a vote on source-to-catalogue pixel offsets (a 2-D
histogram), then matching (30", then 8") and `fit_wcs_from_points`. astrometry.net: the
extracted sources as an xy-list to `solve-field` with the index folder from the config.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.wcs import WCS
from astropy.wcs.utils import fit_wcs_from_points

from orchestrator.pipeline.catalog import Stars, cone
from orchestrator.pipeline.extract import Sources

BRIGHTEST_SOURCES = 60
BRIGHTEST_STARS = 200
MIN_VOTES = 5


class SolveError(Exception):
    """No WCS; the message says why (stored with the frame)."""


@dataclass
class Field:
    """What a solver knows about a frame before solving it."""

    width_px: int
    height_px: int
    ra_deg: float | None  # pointing, if the header has one
    dec_deg: float | None
    scale_arcsec_px: float  # binned pixels

    @property
    def radius_deg(self) -> float:
        return 0.5 * np.hypot(self.width_px, self.height_px) * self.scale_arcsec_px / 3600.0


@dataclass
class Solution:
    wcs: WCS
    solver: str
    n_matches: int
    rms_arcsec: float


class PlateSolver(Protocol):
    name: str

    def solve(self, sources: Sources, field: Field) -> Solution: ...


def _tan_wcs(field: Field, cd: np.ndarray, crpix: tuple[float, float]) -> WCS:
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = [field.ra_deg, field.dec_deg]
    wcs.wcs.crpix = list(crpix)
    wcs.wcs.cd = cd
    return wcs


def _orientations(scale_deg: float) -> list[np.ndarray]:
    out = []
    for rotation in (0, 90, 180, 270):
        c, s = np.cos(np.radians(rotation)), np.sin(np.radians(rotation))
        rot = np.array([[c, -s], [s, c]])
        for parity in (1, -1):
            out.append(scale_deg * rot @ np.array([[-parity, 0.0], [0.0, 1.0]]))
    return out


def match(wcs: WCS, sources: Sources, stars: Stars, radius_arcsec: float):
    """Index pairs (source, star) closer than the radius, and their separations in arcsec."""
    if len(sources) == 0 or len(stars) == 0:
        return np.empty(0, int), np.empty(0, int), np.empty(0)
    ra, dec = wcs.all_pix2world(sources.x, sources.y, 0)
    found = SkyCoord(ra * u.deg, dec * u.deg)
    ref = SkyCoord(stars.ra_deg * u.deg, stars.dec_deg * u.deg)
    index, separation, _ = found.match_to_catalog_sky(ref)
    ok = separation.arcsec < radius_arcsec
    return np.flatnonzero(ok), index[ok], separation.arcsec[ok]


class BuiltinSolver:
    """Pointing + plate scale, refined on the reference catalogue (numpy + astropy only)."""

    name = "builtin"

    def __init__(self, catalog: Path, min_stars: int = 6):
        self.catalog = catalog
        self.min_stars = min_stars

    def solve(self, sources: Sources, field: Field) -> Solution:
        if len(sources) < self.min_stars:
            raise SolveError(f"no WCS: {len(sources)} stars found")
        if field.ra_deg is None or field.dec_deg is None:
            raise SolveError("no WCS: no pointing in the header (TELRA/TELDEC or RA/DEC)")
        # A pointing error of up to half a field is tolerated.
        stars = cone(self.catalog, field.ra_deg, field.dec_deg, 2.0 * field.radius_deg)
        if len(stars) < self.min_stars:
            raise SolveError(f"no WCS: {len(stars)} catalogue stars around the pointing")
        bright = np.argsort(stars.mag)[:BRIGHTEST_STARS]
        stars_b = Stars(stars.ra_deg[bright], stars.dec_deg[bright], stars.mag[bright])
        sx, sy = sources.x[:BRIGHTEST_SOURCES], sources.y[:BRIGHTEST_SOURCES]
        crpix = ((field.width_px + 1) / 2.0, (field.height_px + 1) / 2.0)
        scale_deg = field.scale_arcsec_px / 3600.0
        span = max(field.width_px, field.height_px)
        bins = int(min(400, max(50, span / 3)))
        best = (0, None, 0.0, 0.0)
        for cd in _orientations(scale_deg):
            wcs = _tan_wcs(field, cd, crpix)
            px, py = wcs.all_world2pix(stars_b.ra_deg, stars_b.dec_deg, 0)
            dx = (sx[:, None] - px[None, :]).ravel()
            dy = (sy[:, None] - py[None, :]).ravel()
            counts, xe, ye = np.histogram2d(dx, dy, bins=bins, range=[[-span, span]] * 2)
            i, j = np.unravel_index(np.argmax(counts), counts.shape)
            if counts[i, j] > best[0]:
                best = (counts[i, j], cd, 0.5 * (xe[i] + xe[i + 1]), 0.5 * (ye[j] + ye[j + 1]))
        votes, cd, off_x, off_y = best
        if votes < MIN_VOTES or cd is None:
            raise SolveError(f"no WCS: no consistent match ({len(sources)} stars found)")
        wcs = _tan_wcs(field, cd, (crpix[0] + off_x, crpix[1] + off_y))
        pixel_arcsec = field.scale_arcsec_px
        for radius in (max(30.0, 4 * pixel_arcsec), max(8.0, 1.5 * pixel_arcsec)):
            si, ci, _ = match(wcs, sources, stars, radius)
            if len(si) < self.min_stars:
                raise SolveError(f"no WCS: {len(si)} of {len(sources)} stars matched")
            world = SkyCoord(stars.ra_deg[ci] * u.deg, stars.dec_deg[ci] * u.deg)
            with warnings.catch_warnings():  # "cdelt will be ignored since cd is present"
                warnings.simplefilter("ignore", RuntimeWarning)
                wcs = fit_wcs_from_points((sources.x[si], sources.y[si]), world, projection=wcs)
        si, ci, sep_arcsec = match(wcs, sources, stars, max(4.0, pixel_arcsec))
        if len(si) < self.min_stars:
            raise SolveError(f"no WCS: {len(si)} of {len(sources)} stars matched")
        rms = float(np.sqrt(np.mean(sep_arcsec**2)))
        return Solution(wcs, self.name, int(len(si)), rms)


class AstrometryNetSolver:
    """astrometry.net's `solve-field` on the extracted sources, offline with local indexes."""

    name = "astrometry.net"

    def __init__(self, index_dir: Path, catalog: Path, min_stars: int = 6, timeout_s=60.0):
        self.index_dir = Path(index_dir)
        self.catalog = catalog
        self.min_stars = min_stars
        self.timeout_s = timeout_s

    @staticmethod
    def available(index_dir: Path | None) -> bool:
        return (
            shutil.which("solve-field") is not None
            and index_dir is not None
            and any(Path(index_dir).glob("index-*.fits"))
        )

    def solve(self, sources: Sources, field: Field) -> Solution:
        if len(sources) < self.min_stars:
            raise SolveError(f"no WCS: {len(sources)} stars found")
        with tempfile.TemporaryDirectory(prefix="pyros-solve-") as tmp:
            folder = Path(tmp)
            xy = fits.BinTableHDU.from_columns(
                [
                    fits.Column("X", "D", array=sources.x + 1.0),  # FITS pixels are 1-based
                    fits.Column("Y", "D", array=sources.y + 1.0),
                    fits.Column("FLUX", "D", array=sources.flux),
                ]
            )
            xy.writeto(folder / "xy.fits")
            (folder / "astrometry.cfg").write_text(
                f"add_path {self.index_dir.resolve()}\nautoindex\ninparallel\n"
            )
            argv = [
                "solve-field", "--overwrite", "--no-plots", "--no-remove-lines",
                "--no-verify-uniformize", "--config", str(folder / "astrometry.cfg"),
                "--width", str(field.width_px), "--height", str(field.height_px),
                "--x-column", "X", "--y-column", "Y", "--sort-column", "FLUX",
                "--scale-units", "arcsecperpix",
                "--scale-low", f"{field.scale_arcsec_px * 0.9:.4f}",
                "--scale-high", f"{field.scale_arcsec_px * 1.1:.4f}",
                "--objs", "60", "--tweak-order", "1", "--cpulimit", "30",
                "--new-fits", "none", "--corr", "none", "--rdls", "none", "--match", "none",
                "--solved", "none", "--index-xyls", "none", "--temp-axy", "--dir", str(folder),
            ]  # fmt: skip
            if field.ra_deg is not None and field.dec_deg is not None:
                argv += ["--ra", f"{field.ra_deg:.6f}", "--dec", f"{field.dec_deg:.6f}"]
                argv += ["--radius", f"{max(1.0, 3 * field.radius_deg):.3f}"]
            argv.append(str(folder / "xy.fits"))
            try:
                subprocess.run(argv, capture_output=True, timeout=self.timeout_s, check=False)
            except subprocess.TimeoutExpired:
                raise SolveError("no WCS: solve-field timed out") from None
            wcs_file = folder / "xy.wcs"
            if not wcs_file.is_file():
                raise SolveError(f"no WCS: solve-field failed ({len(sources)} stars found)")
            with warnings.catch_warnings():  # the .wcs file has no image: NAXIS = 0
                warnings.simplefilter("ignore")
                wcs = WCS(fits.getheader(wcs_file), naxis=2)
        stars = cone(self.catalog, *wcs.wcs.crval, field.radius_deg * 1.1)
        si, _, sep_arcsec = match(wcs, sources, stars, max(4.0, field.scale_arcsec_px))
        rms = float(np.sqrt(np.mean(sep_arcsec**2))) if len(si) else float("nan")
        return Solution(wcs, self.name, int(len(si)), rms)


class FallbackSolver:
    """Try each solver in turn; the first WCS wins, else the first failure's reason."""

    def __init__(self, solvers: list):
        self.solvers = solvers
        self.name = "+".join(s.name for s in solvers)

    def solve(self, sources: Sources, field: Field) -> Solution:
        reasons = []
        for solver in self.solvers:
            try:
                return solver.solve(sources, field)
            except SolveError as exc:
                reasons.append(f"{solver.name}: {exc}")
        raise SolveError("; ".join(reasons) if len(reasons) > 1 else reasons[0].split(": ", 1)[1])
