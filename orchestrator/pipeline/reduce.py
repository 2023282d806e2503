"""One science frame, end to end: calibrate, extract, solve, zero point, quality, write.

The calibrated file is written beside the raw one (`..._cal.fits`) with the provenance of
its masters (MBIAS/MDARK/MFLAT, or why one is missing), the WCS, the zero point and the
quality cards, and its source table as a second HDU (SOURCES) for the error-box analysis.
Nothing here raises for a bad frame: what could not be done is in `FrameResult.notes`.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from astropy import units as u
from astropy.io import fits
from astropy.nddata import CCDData

from orchestrator.pipeline.catalog import catalog_path, cone
from orchestrator.pipeline.extract import Sources, extract
from orchestrator.pipeline.frames import Frame, FrameError, load_frame
from orchestrator.pipeline.masters import Geometry, find_master
from orchestrator.pipeline.photometry import Photometry, calibrate_photometry
from orchestrator.pipeline.solve import (
    AstrometryNetSolver,
    BuiltinSolver,
    FallbackSolver,
    Field,
    Solution,
    SolveError,
)
from orchestrator.runtime import Runtime

log = logging.getLogger(__name__)


@dataclass
class FrameResult:
    path: Path
    ok: bool  # False: the frame could not be read at all
    calibrated_path: Path | None = None
    notes: list[str] = field(default_factory=list)
    n_stars: int = 0
    fwhm_arcsec: float | None = None
    background_adu: float | None = None
    zero_point_mag: float | None = None
    limiting_mag: float | None = None
    solver: str | None = None
    duration_s: float = 0.0

    def quality(self) -> dict:
        """The Image columns this result fills."""
        return {
            "n_stars": self.n_stars,
            "fwhm_arcsec": self.fwhm_arcsec,
            "background_adu": self.background_adu,
            "zero_point_mag": self.zero_point_mag,
            "limiting_mag": self.limiting_mag,
            "wcs_solver": self.solver,
            "calibrated_path": str(self.calibrated_path) if self.calibrated_path else None,
        }


def make_solver(runtime: Runtime):
    """The configured plate solver; `auto` puts astrometry.net first when it can run."""
    settings = runtime.config.pipeline
    catalog = catalog_path(runtime.config)
    builtin = BuiltinSolver(catalog, settings.min_stars_wcs)
    index_dir = settings.astrometry_index_dir or (runtime.config.folders.data / "astrometry-index")
    anet = AstrometryNetSolver(index_dir, catalog, settings.min_stars_wcs)
    if settings.solver == "builtin":
        return builtin
    if settings.solver == "astrometry.net":
        return anet
    if AstrometryNetSolver.available(index_dir):
        return FallbackSolver([builtin, anet])  # the fast one first, a.net when it fails
    return builtin


def _pointing(header: fits.Header) -> tuple[float | None, float | None]:
    for ra_key, dec_key in (("TELRA", "TELDEC"), ("RA", "DEC"), ("CRVAL1", "CRVAL2")):
        ra, dec = header.get(ra_key), header.get(dec_key)
        if isinstance(ra, int | float) and isinstance(dec, int | float):
            return float(ra), float(dec)
    return None, None


def _scale_arcsec_px(runtime: Runtime, frame: Frame) -> float:
    for key in ("PIXSCALE", "SECPIX"):  # files from other telescopes may say it
        value = frame.header.get(key)
        if isinstance(value, int | float) and value > 0:
            return float(value)
    scales = runtime.config.pipeline.plate_scale_arcsec_px
    base = scales.get(frame.channel, next(iter(scales.values()), 1.0))
    return base * frame.binning[0]


def calibrate(runtime: Runtime, frame: Frame) -> tuple[np.ndarray, fits.Header, list[str]]:
    """Bias, dark (scaled when no dark of the same exposure exists) and flat; notes say
    which master is missing, and the header says it too."""
    from ccdproc import ccd_process

    geometry = Geometry.of(frame)
    header = frame.header.copy()
    notes: list[str] = []
    with runtime.sessions() as session:
        bias, why_bias = find_master(session, "bias", geometry)
        dark, why_dark = find_master(session, "dark", geometry, exposure_s=frame.exposure_s)
        flat, why_flat = find_master(session, "flat", geometry, filter_name=frame.filter_name)
    masters = {}
    for key, master, why in (("MBIAS", bias, why_bias), ("MDARK", dark, why_dark),
                             ("MFLAT", flat, why_flat)):  # fmt: skip
        if master is None:
            notes.append(why)
            header[key] = ("none", why[:40])
            continue
        try:
            data = load_frame(Path(master.path)).data
        except FrameError as exc:
            notes.append(f"{key.lower()} unreadable: {exc}")
            header[key] = ("none", "master unreadable")
            continue
        masters[key] = (master, CCDData(data, unit=u.adu))
        header[key] = Path(master.path).name[-68:]  # the id would not fit a card
    ccd = CCDData(frame.data, unit=u.adu)
    dark_kwargs = {}
    if "MDARK" in masters:
        dark_kwargs = {
            "dark_frame": masters["MDARK"][1],
            "data_exposure": frame.exposure_s * u.s,
            "dark_exposure": (masters["MDARK"][0].exposure_s or frame.exposure_s) * u.s,
            "dark_scale": True,
        }
    out = ccd_process(
        ccd,
        master_bias=masters["MBIAS"][1] if "MBIAS" in masters else None,
        master_flat=masters["MFLAT"][1] if "MFLAT" in masters else None,
        **dark_kwargs,
    )
    header["CALSTAT"] = ("".join(k[1] for k in masters) or "none", "B=bias D=dark F=flat applied")
    return np.asarray(out.data, dtype=np.float32), header, notes


def reduce_frame(runtime: Runtime, path: Path, solver=None) -> FrameResult:
    """Calibrate, measure and solve one frame; never raises for a bad frame."""
    started = time.perf_counter()
    result = FrameResult(Path(path), ok=True)
    try:
        frame = load_frame(Path(path))
    except FrameError as exc:
        result.ok = False
        result.notes.append(str(exc))
        return result
    try:
        _reduce(runtime, frame, result, solver or make_solver(runtime))
    except Exception as exc:  # a frame never stops the pipeline
        log.exception("reducing %s", path)
        result.notes.append(f"reduction failed: {type(exc).__name__}: {str(exc)[:100]}")
    result.duration_s = time.perf_counter() - started
    return result


def _reduce(runtime: Runtime, frame: Frame, result: FrameResult, solver) -> None:
    data, header, notes = calibrate(runtime, frame)
    result.notes += notes
    sources = extract(data, runtime.config.pipeline.detect_sigma)
    scale = _scale_arcsec_px(runtime, frame)
    result.n_stars = len(sources)
    result.background_adu = round(sources.background_adu, 2)
    good = sources.flag == 0
    if good.any():
        result.fwhm_arcsec = round(float(np.median(sources.fwhm_px[good])) * scale, 2)
    if len(sources) == 0:
        result.notes.append("no stars found")
    height, width = frame.shape
    ra, dec = _pointing(frame.header)
    solution: Solution | None = None
    photometry: Photometry | None = None
    try:
        solution = solver.solve(sources, Field(width, height, ra, dec, scale))
    except SolveError as exc:
        result.notes.append(str(exc))
    if solution is not None:
        result.solver = solution.solver
        _clear_wcs(header)
        header.update(solution.wcs.to_header(relax=True))
        header["WCSSOLVR"] = (solution.solver, "plate solver")
        header["WCSNMAT"] = (solution.n_matches, "stars matched to the catalogue")
        header["WCSRMS"] = (round(solution.rms_arcsec, 3), "[arcsec] match residual rms")
        center_ra, center_dec = solution.wcs.all_pix2world(width / 2, height / 2, 0)
        stars = cone(
            catalog_path(runtime.config), float(center_ra), float(center_dec),
            Field(width, height, ra, dec, scale).radius_deg * 1.05,
        )  # fmt: skip
        photometry = calibrate_photometry(
            sources, solution.wcs, stars, frame.exposure_s or 1.0, max(3.0, 1.5 * scale)
        )
        if photometry.zero_point_mag is None:
            result.notes.append(f"no zero point: {photometry.n_calibrators} catalogue stars")
        else:
            result.zero_point_mag = round(photometry.zero_point_mag, 3)
            result.limiting_mag = round(photometry.limiting_mag, 2)
            header["ZP"] = (result.zero_point_mag, "[mag] zero point, 1 ADU/s")
            header["ZPERR"] = (round(photometry.zero_point_err_mag, 3), "[mag]")
            header["ZPNSTAR"] = (photometry.n_calibrators, "catalogue stars used")
            header["MAGLIM"] = (result.limiting_mag, "[mag] 5-sigma limiting magnitude")
    header["NSTARS"] = (result.n_stars, "sources extracted (sep)")
    header["BKGADU"] = (result.background_adu, "[ADU] median background")
    if result.fwhm_arcsec is not None:
        header["FWHM"] = (result.fwhm_arcsec, "[arcsec] median FWHM")
    for note in result.notes:
        header.add_history(f"pipeline: {note}"[:70])
    out = frame.path.with_name(frame.path.stem + "_cal.fits")
    write_calibrated(out, data, header, sources, solution, photometry)
    result.calibrated_path = out


def _clear_wcs(header: fits.Header) -> None:
    for key in list(header.keys()):
        if key.startswith(("CTYPE", "CRVAL", "CRPIX", "CD1_", "CD2_", "CDELT", "PC1_", "PC2_",
                           "A_", "B_", "AP_", "BP_", "LONPOLE", "LATPOLE", "WCSAXES")):  # fmt: skip
            del header[key]


def write_calibrated(path, data, header, sources: Sources, solution, photometry) -> None:
    """The calibrated image with its SOURCES table (positions, magnitudes), atomically."""
    import os

    n = len(sources)
    ra = dec = np.full(n, np.nan)
    if solution is not None and n:
        ra, dec = solution.wcs.all_pix2world(sources.x, sources.y, 0)
    mags = photometry.mags if photometry is not None else np.full(n, np.nan)
    errs = photometry.mag_errs if photometry is not None else sources.mag_err()
    table = fits.BinTableHDU.from_columns(
        [
            fits.Column("X", "D", array=sources.x),
            fits.Column("Y", "D", array=sources.y),
            fits.Column("RA", "D", array=np.asarray(ra, float), unit="deg"),
            fits.Column("DEC", "D", array=np.asarray(dec, float), unit="deg"),
            fits.Column("FLUX", "D", array=sources.flux),
            fits.Column("MAG", "D", array=np.asarray(mags, float), unit="mag"),
            fits.Column("MAGERR", "D", array=np.asarray(errs, float), unit="mag"),
            fits.Column("FWHM", "D", array=sources.fwhm_px, unit="pix"),
            fits.Column("FLAG", "J", array=sources.flag),
        ],
        name="SOURCES",
    )
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fits.HDUList([fits.PrimaryHDU(data=data, header=header), table]).writeto(
            temporary, overwrite=True, output_verify="silentfix"
        )
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
