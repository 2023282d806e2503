"""Near-real-time analysis of an alert's images inside its error circle.

Reads the calibrated frames (their WCS, zero point, limiting magnitude and SOURCES table),
lists the sources inside the circle with position, magnitude and error, cross-matches them
with the reference catalogue and flags **new sources** (no counterpart, brighter than the
frame's limiting magnitude) as candidates; frames without a candidate give upper limits.
The result is a `Report` (JSON details) and a short text for a GCN Circular draft.
Shallow frames are stacked by the service (stack.py) and the stack analysed here too.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.wcs import WCS

from orchestrator.pipeline.catalog import cone

MIN_MATCH_ARCSEC = 3.0


@dataclass
class Detection:
    image: str
    date_obs: str
    minutes_after_trigger: float | None
    filter_name: str
    ra_deg: float
    dec_deg: float
    position_err_arcsec: float
    mag: float | None
    mag_err: float | None
    catalog_mag: float | None  # the counterpart's catalogue magnitude, None = new source
    separation_arcsec: float | None  # to the counterpart


@dataclass
class FrameLimit:
    image: str
    date_obs: str
    minutes_after_trigger: float | None
    filter_name: str
    exposure_s: float
    limiting_mag: float | None
    n_in_circle: int
    note: str = ""


@dataclass
class Report:
    ra_deg: float
    dec_deg: float
    radius_deg: float
    trigger_time: str | None
    sources: list[Detection] = field(default_factory=list)
    candidates: list[Detection] = field(default_factory=list)
    frames: list[FrameLimit] = field(default_factory=list)
    not_done: list[str] = field(default_factory=list)  # what could not be done, and why

    def as_dict(self) -> dict:
        return asdict(self)


def _minutes(when: datetime | None, trigger: datetime | None) -> float | None:
    if when is None or trigger is None:
        return None
    return round((when - trigger).total_seconds() / 60.0, 2)


def _date_obs(header: fits.Header) -> datetime | None:
    from orchestrator.pipeline.frames import Frame

    return Frame(Path("."), np.zeros((1, 1)), header).date_obs


def analyse(
    calibrated_paths: list[Path],
    ra_deg: float,
    dec_deg: float,
    radius_deg: float,
    catalog: Path,
    trigger_time: datetime | None = None,
    notes_by_path: dict[str, str] | None = None,
) -> Report:
    """The error-box report of these calibrated frames (missing ones are said, not skipped)."""
    report = Report(ra_deg, dec_deg, radius_deg, trigger_time.isoformat() if trigger_time else None)
    center = SkyCoord(ra_deg * u.deg, dec_deg * u.deg)
    stars = cone(catalog, ra_deg, dec_deg, radius_deg + 0.02)
    reference = SkyCoord(stars.ra_deg * u.deg, stars.dec_deg * u.deg) if len(stars) else None
    for path in calibrated_paths:
        name = Path(path).name
        try:
            with fits.open(path) as hdus:
                header = hdus[0].header
                table = hdus["SOURCES"].data if "SOURCES" in hdus else None
                table = None if table is None else np.array(table)
        except (OSError, KeyError) as exc:
            report.not_done.append(f"{name}: unreadable ({exc})")
            continue
        when = _date_obs(header)
        limit = FrameLimit(
            name, when.isoformat() if when else "", _minutes(when, trigger_time),
            str(header.get("FILTER", "NONE")), float(header.get("EXPTIME", 0.0)),
            header.get("MAGLIM"), 0,
        )  # fmt: skip
        report.frames.append(limit)
        if "WCSSOLVR" not in header:
            limit.note = (notes_by_path or {}).get(str(path), "no WCS")
            report.not_done.append(f"{name}: no sources located ({limit.note})")
            continue
        if not WCS(header).footprint_contains(center):
            limit.note = "error circle centre outside the frame"
            report.not_done.append(f"{name}: {limit.note}")
            continue
        if header.get("ZP") is None:
            report.not_done.append(f"{name}: no magnitudes (no zero point)")
        if table is None or len(table) == 0:
            continue
        found = SkyCoord(table["RA"] * u.deg, table["DEC"] * u.deg)
        inside = np.flatnonzero(found.separation(center).deg <= radius_deg)
        limit.n_in_circle = int(len(inside))
        pixel_arcsec = float(header.get("PIXSCALE", 0) or 0) or _pixel_arcsec(header)
        wcs_rms = float(header.get("WCSRMS", 1.0))
        match_arcsec = max(MIN_MATCH_ARCSEC, 3 * wcs_rms, 0.75 * pixel_arcsec)
        counterpart = np.full(len(table), -1)
        counterpart_sep = np.full(len(table), np.nan)
        if reference is not None and len(inside):
            j, sep, _ = found[inside].match_to_catalog_sky(reference)
            close = sep.arcsec < match_arcsec
            counterpart[inside[close]] = j[close]
            counterpart_sep[inside[close]] = sep.arcsec[close]
        for i in inside:
            row = table[i]
            mag = float(row["MAG"]) if np.isfinite(row["MAG"]) else None
            mag_err = float(row["MAGERR"]) if np.isfinite(row["MAGERR"]) else None
            catalog_mag = separation = None
            if counterpart[i] >= 0:
                catalog_mag = float(stars.mag[counterpart[i]])
                separation = float(counterpart_sep[i])
            detection = Detection(
                name, limit.date_obs, limit.minutes_after_trigger, limit.filter_name,
                float(row["RA"]), float(row["DEC"]), round(math.hypot(wcs_rms, 0.5), 2),
                None if mag is None else round(mag, 3),
                None if mag_err is None else round(mag_err, 3),
                catalog_mag, None if separation is None else round(separation, 2),
            )  # fmt: skip
            report.sources.append(detection)
            too_faint = (
                mag is not None and limit.limiting_mag is not None and (mag > limit.limiting_mag)
            )
            if catalog_mag is None and not too_faint and int(row["FLAG"]) & ~1 == 0:
                report.candidates.append(detection)
    return report


def _pixel_arcsec(header: fits.Header) -> float:
    try:
        scales = WCS(header).proj_plane_pixel_scales()
        return float(np.mean([s.to_value(u.arcsec) for s in scales]))
    except Exception:
        return 1.0


def _sexagesimal(ra_deg: float, dec_deg: float) -> str:
    c = SkyCoord(ra_deg * u.deg, dec_deg * u.deg)
    return (
        f"{c.ra.to_string(unit=u.hour, sep=':', precision=2, pad=True)}, "
        f"{c.dec.to_string(sep=':', precision=1, alwayssign=True, pad=True)}"
    )


def _when(minutes: float | None) -> str:
    return "" if minutes is None else f"T0+{minutes:.1f} min"


def gcn_text(report: Report, site_name: str, event: str) -> str:
    """A short text a human could paste into a GCN Circular draft."""
    radius_arcmin = report.radius_deg * 60.0
    first = min((f for f in report.frames if f.date_obs), key=lambda f: f.date_obs, default=None)
    lines = [
        f"{event}: {site_name} observed the error circle (radius {radius_arcmin:.1f} arcmin, "
        f"centre {_sexagesimal(report.ra_deg, report.dec_deg)} J2000)"
        + (f" starting at {_when(first.minutes_after_trigger)} ({first.date_obs} UTC)"
           if first else "")
        + f", {len(report.frames)} frame(s).",
    ]  # fmt: skip
    seen: list[Detection] = []
    for c in report.candidates:
        if any(
            SkyCoord(c.ra_deg * u.deg, c.dec_deg * u.deg)
            .separation(SkyCoord(s.ra_deg * u.deg, s.dec_deg * u.deg))
            .arcsec
            < max(3.0, 2 * c.position_err_arcsec)
            for s in seen
        ):
            continue
        seen.append(c)
        mag = "?" if c.mag is None else f"{c.mag:.2f} +/- {c.mag_err or 0:.2f}"
        lines.append(
            f"New source (no catalogue counterpart) at RA, Dec = "
            f"{_sexagesimal(c.ra_deg, c.dec_deg)} (J2000, +/- {c.position_err_arcsec:.1f} arcsec), "
            f"{c.filter_name} = {mag} at {_when(c.minutes_after_trigger)} ({c.image})."
        )
    if not seen:
        limits = [
            f"{f.filter_name} > {f.limiting_mag:.1f} ({_when(f.minutes_after_trigger)}, "
            f"{f.exposure_s:g} s)"
            for f in report.frames
            if f.limiting_mag is not None and not f.note
        ]
        lines.append(
            "No new source is detected inside the error circle"
            + (f"; 5-sigma upper limits: {'; '.join(limits)}." if limits else ".")
        )
    if report.not_done:
        lines.append("Not done: " + "; ".join(report.not_done) + ".")
    lines.append("Magnitudes are calibrated against the reference catalogue (G band).")
    return "\n".join(lines)
