"""Master bias, dark (per exposure time, bias-subtracted) and flat (per filter, normalised).

Built with ccdproc's sigma-clipped combine from one night's calibration frames, written as
FITS beside the night's images (`NIGHT/CHANNEL/masters/`) with their provenance (the source
files in HISTORY cards and in the `master_frame` row). The newest valid master matching a
frame's channel, size and binning is used until a newer one exists (`find_master`).
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC

import numpy as np
from astropy import units as u
from astropy.io import fits
from astropy.nddata import CCDData
from sqlalchemy import select

from orchestrator.model import Image, MasterFrame
from orchestrator.observer.fits import night_of
from orchestrator.pipeline.frames import Frame, FrameError, load_frame, write_frame
from orchestrator.runtime import Runtime

log = logging.getLogger(__name__)
CALIBRATION_TYPES = ("bias", "dark", "flat")


@dataclass(frozen=True)
class Geometry:
    channel: str
    bin_x: int
    bin_y: int
    width_px: int
    height_px: int

    @classmethod
    def of(cls, frame: Frame) -> Geometry:
        height, width = frame.shape
        return cls(frame.channel, *frame.binning, width, height)

    def describe(self) -> str:
        return f"{self.channel} {self.width_px}x{self.height_px} bin {self.bin_x}x{self.bin_y}"


def find_master(
    session,
    kind: str,
    geometry: Geometry,
    filter_name: str | None = None,
    exposure_s: float | None = None,
) -> tuple[MasterFrame | None, str]:
    """The newest valid master for a frame, or None and the reason (said in the header)."""
    query = select(MasterFrame).where(
        MasterFrame.kind == kind,
        MasterFrame.channel == geometry.channel,
        MasterFrame.is_valid.is_(True),
    )
    candidates = list(session.scalars(query.order_by(MasterFrame.created.desc())))
    fitting = [
        m
        for m in candidates
        if (m.bin_x, m.bin_y, m.width_px, m.height_px)
        == (geometry.bin_x, geometry.bin_y, geometry.width_px, geometry.height_px)
    ]
    if kind == "flat":
        fitting = [m for m in fitting if m.filter_name == filter_name]
    if kind == "dark" and fitting and exposure_s is not None:
        exact = [m for m in fitting if abs((m.exposure_s or 0) - exposure_s) < 1e-3]
        # Else the longest dark, scaled: its noise shrinks when scaled down.
        fitting = exact or sorted(fitting, key=lambda m: -(m.exposure_s or 0))
    if fitting:
        return fitting[0], ""
    what = f"master {kind}" + (f" for filter {filter_name}" if kind == "flat" else "")
    reason = f"no {what} for {geometry.describe()}"
    if candidates:
        other = candidates[0]
        reason += (
            f" (newest is {other.width_px}x{other.height_px} bin {other.bin_x}x{other.bin_y}"
            + (f", filter {other.filter_name}" if kind == "flat" else "")
            + ")"
        )
    return None, reason


def _combine(frames: list[np.ndarray], scale_to_median: bool = False) -> np.ndarray:
    from ccdproc import combine

    ccds = [CCDData(f, unit=u.adu) for f in frames]
    scale = (lambda a: 1.0 / np.median(a)) if scale_to_median else None
    combined = combine(
        ccds,
        method="average",
        sigma_clip=True,
        sigma_clip_low_thresh=5,
        sigma_clip_high_thresh=5,
        sigma_clip_func=np.ma.mean,  # ma.median: 2.5x slower (15 s for 10 x 2048²)
        scale=scale,
        mem_limit=2e9,
        dtype=np.float32,
    )
    return np.asarray(combined.data, dtype=np.float32)


def _night_frames(runtime: Runtime, night: str) -> list[tuple[Image, Frame]]:
    site = runtime.config.site
    out = []
    with runtime.sessions() as session:
        rows = list(
            session.scalars(
                select(Image).where(Image.image_type.in_(CALIBRATION_TYPES)).order_by(Image.id)
            )
        )
        for row in rows:
            session.expunge(row)
    for row in rows:
        if night_of(row.date_obs, site) != night:
            continue
        try:
            out.append((row, load_frame(row.path)))
        except FrameError as exc:
            log.warning("calibration frame %s skipped: %s", row.path, exc)
    return out


def build_masters(runtime: Runtime, night: str) -> tuple[list[MasterFrame], list[str]]:
    """Every master the night's calibration frames allow; returns them and what is missing."""
    groups: dict[tuple, list[tuple[Image, Frame]]] = defaultdict(list)
    for row, frame in _night_frames(runtime, night):
        geometry = Geometry.of(frame)
        if row.image_type == "bias":
            groups[("bias", geometry, None, None)].append((row, frame))
        elif row.image_type == "dark":
            groups[("dark", geometry, None, round(frame.exposure_s, 3))].append((row, frame))
        else:
            groups[("flat", geometry, frame.filter_name, None)].append((row, frame))
    built: list[MasterFrame] = []
    notes: list[str] = []
    order = {"bias": 0, "dark": 1, "flat": 2}  # darks need the bias, flats both
    for key in sorted(groups, key=lambda k: (order[k[0]], k[3] or 0)):
        kind, geometry, filter_name, exposure_s = key
        members = groups[key]
        if len(members) < runtime.config.pipeline.min_frames_master:
            notes.append(
                f"no master {kind} for {geometry.describe()}"
                f"{f' filter {filter_name}' if filter_name else ''}"
                f"{f' {exposure_s:g} s' if exposure_s else ''}: only {len(members)} frames"
            )
            continue
        data, history = _prepare(runtime, kind, geometry, members)
        master = _combine(data, scale_to_median=kind == "flat")
        built.append(_store(runtime, night, key, master, members, history))
    return built, notes


def _prepare(runtime, kind, geometry, members) -> tuple[list[np.ndarray], list[str]]:
    """Bias-subtract darks; bias- and dark-subtract flats, with the masters built so far."""
    arrays = [frame.data for _, frame in members]
    history: list[str] = []
    if kind == "bias":
        return arrays, history
    with runtime.sessions() as session:
        bias, why = find_master(session, "bias", geometry)
        dark = None
        if kind == "flat":
            dark, _ = find_master(session, "dark", geometry, exposure_s=members[0][1].exposure_s)
    if bias is None:
        history.append(why)
    bias_data = load_frame(bias.path).data if bias else 0.0
    out = [a - bias_data for a in arrays]
    if dark is not None:
        dark_data = load_frame(dark.path).data
        for i, (_, frame) in enumerate(members):
            out[i] = out[i] - dark_data * (frame.exposure_s / max(dark.exposure_s or 1.0, 1e-6))
        history.append(f"dark-subtracted with {dark.path}")
    if bias is not None:
        history.append(f"bias-subtracted with {bias.path}")
    return out, history


def _store(runtime, night, key_info, data, members, history):
    kind, geometry, filter_name, exposure_s = key_info
    now = runtime.clock.now().astimezone(UTC)
    name = "_".join(
        part
        for part in (
            f"master_{kind}",
            filter_name,
            f"{exposure_s:g}s" if exposure_s else None,
            f"bin{geometry.bin_x}x{geometry.bin_y}",
            f"{geometry.width_px}x{geometry.height_px}",
            f"{now:%Y%m%dT%H%M%S}{now.microsecond // 1000:03d}",
        )
        if part
    )
    folder = runtime.config.folders.images / night / geometry.channel / "masters"
    header = fits.Header()
    header["IMAGETYP"] = (f"MASTER {kind.upper()}", "pipeline master")
    header["CHANNEL"] = geometry.channel
    header["XBINNING"] = geometry.bin_x
    header["YBINNING"] = geometry.bin_y
    header["FILTER"] = filter_name or "NONE"
    if exposure_s:
        header["EXPTIME"] = (exposure_s, "[s] of the combined darks")
    header["NCOMBINE"] = (len(members), "frames combined (sigma-clipped average)")
    header["NIGHT"] = night
    header["DATE"] = now.isoformat(timespec="seconds")
    for row, _ in members:
        header.add_history(f"source {row.id}: {row.path.rsplit('/', 1)[-1]}"[:70])
    for line in history:
        header.add_history(line[:70])
    path = write_frame(folder / f"{name}.fits", data, header)
    with runtime.sessions.begin() as session:
        row = MasterFrame(
            kind=kind,
            channel=geometry.channel,
            night=night,
            filter_name=filter_name,
            exposure_s=exposure_s,
            bin_x=geometry.bin_x,
            bin_y=geometry.bin_y,
            width_px=geometry.width_px,
            height_px=geometry.height_px,
            path=str(path),
            created=now,
            n_frames=len(members),
            source_image_ids=json.dumps([r.id for r, _ in members]),
        )
        session.add(row)
        session.flush()
        session.expunge(row)
    log.info("master %s built from %d frames: %s", kind, len(members), path)
    return row
