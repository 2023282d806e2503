"""Vectorised constraint evaluation: which grid start times each sequence may take, and why not.

Arrays of sequences x grid points, like astroplan's constraints.py, but the altitudes and Moon
separations come from the night's cached tracks instead of one astropy transform per call.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from orchestrator.planner.night import NightGrid, to_unix
from orchestrator.planner.spec import SequenceSpec

# Our numpy altitudes match astropy's AltAz to a few arcseconds; these margins keep every entry
# inside astroplan's own constraints when it re-checks them.
ALTITUDE_MARGIN_DEG = 0.05
MOON_MARGIN_DEG = 0.1


@dataclass
class Visibility:
    """Per sequence (rows) and grid point (columns)."""

    slot_ok: np.ndarray  # bool: every constraint but the window holds at this instant
    can_start: np.ndarray  # bool: an entry starting here meets every constraint to its end
    samples: np.ndarray  # int: grid points an entry spans after its start (ceil(d / step))
    reasons: list[str]  # why a sequence has no possible start ("" if it has one)


def _runs_fit(ok: np.ndarray, samples: np.ndarray) -> np.ndarray:
    """fit[j, i]: ok[j, i .. i + samples[j]] are all true (and inside the grid)."""
    m, n = ok.shape
    cumulative = np.zeros((m, n + 1), np.int32)
    np.cumsum(ok, axis=1, out=cumulative[:, 1:])
    ends = np.arange(n)[None, :] + samples[:, None] + 1
    inside = ends <= n
    ends = np.minimum(ends, n)
    counts = np.take_along_axis(cumulative, ends, axis=1) - cumulative[:, :-1]
    return inside & (counts == samples[:, None] + 1)


def evaluate(
    grid: NightGrid,
    specs: list[SequenceSpec],
    now_unix: float,
    default_twilight: str,
    horizon_deg: float,
) -> Visibility:
    n, m = grid.n, len(specs)
    times = grid.times_unix
    if m == 0:
        empty = np.zeros((0, n), bool)
        return Visibility(empty, empty, np.zeros(0, int), [])
    ra = np.array([s.ra_deg for s in specs])
    dec = np.array([s.dec_deg for s in specs])
    altitude, moon_sep = grid.target_tracks(ra, dec)
    duration = np.array([s.duration_s for s in specs])
    samples = np.ceil(duration / grid.step_s).astype(int)

    min_alt = np.array([s.min_altitude_for(horizon_deg) for s in specs]) + ALTITUDE_MARGIN_DEG
    alt_ok = altitude >= min_alt[:, None]
    min_sep = np.array(
        [
            -math.inf if s.min_moon_separation_deg is None else s.min_moon_separation_deg
            for s in specs
        ]
    )
    moon_ok = moon_sep >= (min_sep + MOON_MARGIN_DEG)[:, None]

    # Night and window bound the entry's start and end exactly (not by samples).
    twilight = [s.twilight or default_twilight for s in specs]
    bounds = {kind: grid.night_bounds(kind) for kind in set(twilight)}
    dusk = np.array([bounds[k][0] for k in twilight])
    dawn = np.array([bounds[k][1] for k in twilight])
    ends = times[None, :] + duration[:, None]
    night_start_ok = (times[None, :] >= dusk[:, None]) & (ends <= dawn[:, None])
    in_night = (times[None, :] >= dusk[:, None]) & (times[None, :] <= dawn[:, None])
    w_start = np.array([to_unix(s.window_start) if s.window_start else -math.inf for s in specs])
    w_end = np.array([to_unix(s.window_end) if s.window_end else math.inf for s in specs])
    earliest = np.maximum(w_start, now_unix)
    window_start_ok = (times[None, :] >= earliest[:, None]) & (ends <= w_end[:, None])

    slot_ok = alt_ok & moon_ok & in_night
    can_start = _runs_fit(alt_ok & moon_ok, samples) & night_start_ok & window_start_ok
    reasons = [""] * m
    blocked = np.flatnonzero(~can_start.any(axis=1))
    if blocked.size:
        up = (_runs_fit(alt_ok[blocked], samples[blocked]) & night_start_ok[blocked]).any(axis=1)
        up_moon = (
            _runs_fit((alt_ok & moon_ok)[blocked], samples[blocked]) & night_start_ok[blocked]
        ).any(axis=1)
        for row, j in enumerate(blocked):
            reasons[j] = _reason(
                specs[j], twilight[j], min_alt[j] - ALTITUDE_MARGIN_DEG, bool(up[row]),
                bool(up_moon[row]), earliest[j], w_end[j], dusk[j], dawn[j], now_unix,
            )  # fmt: skip
    return Visibility(slot_ok, can_start, samples, reasons)


def _reason(
    spec: SequenceSpec,
    twilight: str,
    min_alt_deg: float,
    up: bool,
    up_moon: bool,
    earliest_unix: float,
    window_end_unix: float,
    dusk_unix: float,
    dawn_unix: float,
    now_unix: float,
) -> str:
    """The first constraint that rules the sequence out tonight, in the seed's words."""
    if math.isnan(dusk_unix):
        return f"never up: no {twilight} night tonight at this site"
    open_from = max(earliest_unix, dusk_unix)
    open_until = min(window_end_unix, dawn_unix)
    if open_until - open_from < spec.duration_s:
        if dawn_unix - max(dusk_unix, now_unix) < spec.duration_s:
            return f"never up: less than {spec.duration_s:.0f} s of {twilight} night left tonight"
        if window_end_unix <= now_unix:
            return "window closed: its window ended before now"
        if open_until <= open_from:
            return f"window closed: its window misses tonight's {twilight} night"
        return f"window closed: less than {spec.duration_s:.0f} s of its window left tonight"
    if not up:
        return (
            f"never up: not above {min_alt_deg:.1f} deg for {spec.duration_s:.0f} s "
            f"in tonight's {twilight} night"
        )
    if not up_moon:
        return (
            f"never up: within {spec.min_moon_separation_deg:.0f} deg of the Moon "
            "whenever it is high enough"
        )
    return "window closed: not observable long enough inside its window tonight"
