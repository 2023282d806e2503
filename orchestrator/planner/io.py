"""The offline JSON interface of `pyros plan`: validate the input, run the planner, write output.

Every input error is an `InputError` naming the sequence id and the field; nothing is written
unless the whole input is valid and the plan is made.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from orchestrator.errors import InputError
from orchestrator.planner.night import TWILIGHT_SUN_ALTITUDE_DEG, Site
from orchestrator.planner.spec import PlanResult, SequenceSpec

SEQUENCE_FIELDS = {
    "id", "ra_deg", "dec_deg", "duration_s", "priority", "window_start", "window_end",
    "preferred_time", "min_altitude_deg", "max_airmass", "min_moon_separation_deg", "urgent",
    "twilight", "filters",
}  # fmt: skip
TOP_FIELDS = {"site", "night", "sequences"}
SITE_FIELDS = ("latitude_deg", "longitude_deg", "elevation_m")
MAX_DURATION_S = 86400.0


@dataclass(frozen=True)
class PlanningInput:
    night: date
    site: Site | None  # none = the configured site
    sequences: list[SequenceSpec]


def _number(value: Any, where: str, lo: float = -math.inf, hi: float = math.inf) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InputError(where, f"must be a number (got {value!r})")
    if not lo <= value <= hi:
        raise InputError(where, f"must be between {lo:g} and {hi:g} (got {value!r})")
    return float(value)


def _instant(value: Any, where: str) -> datetime:
    if not isinstance(value, str):
        raise InputError(where, f"must be an ISO 8601 UTC time string (got {value!r})")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InputError(where, f"not an ISO 8601 time: {value!r}") from None
    if moment.tzinfo is None:
        raise InputError(where, f"must carry a timezone, e.g. {value}Z (got {value!r})")
    return moment


def _site(raw: Any) -> Site:
    if not isinstance(raw, dict):
        raise InputError("site", "must be an object with latitude_deg, longitude_deg, elevation_m")
    for key in raw:
        if key not in SITE_FIELDS:
            raise InputError(f"site.{key}", "unknown field")
    for key in SITE_FIELDS:
        if key not in raw:
            raise InputError(f"site.{key}", "required field is missing")
    return Site(
        _number(raw["latitude_deg"], "site.latitude_deg", -90, 90),
        _number(raw["longitude_deg"], "site.longitude_deg", -180, 180),
        _number(raw["elevation_m"], "site.elevation_m", -500, 9000),
    )


def _sequence(raw: Any, index: int, seen: set[str]) -> SequenceSpec:
    label = f"sequences[{index}]"
    if not isinstance(raw, dict):
        raise InputError(label, "must be an object")
    ident = raw.get("id")
    if not isinstance(ident, str) or not ident.strip():
        raise InputError(f"{label}.id", f"required, a non-empty string (got {ident!r})")
    if ident in seen:
        raise InputError(f"sequence '{ident}'.id", "duplicate id")
    seen.add(ident)
    where = f"sequence '{ident}'"
    for key in raw:
        if key not in SEQUENCE_FIELDS:
            raise InputError(f"{where}.{key}", "unknown field")
    for key in ("ra_deg", "dec_deg", "duration_s", "priority"):
        if key not in raw:
            raise InputError(f"{where}.{key}", "required field is missing")

    def opt(key: str, convert):
        return None if raw.get(key) is None else convert(raw[key], f"{where}.{key}")

    window_start = opt("window_start", _instant)
    window_end = opt("window_end", _instant)
    if window_start and window_end and window_end <= window_start:
        raise InputError(f"{where}.window_end", "must be after window_start")
    twilight = raw.get("twilight")
    if twilight is not None and twilight not in TWILIGHT_SUN_ALTITUDE_DEG:
        raise InputError(
            f"{where}.twilight", f"must be civil, nautical or astronomical (got {twilight!r})"
        )
    urgent = raw.get("urgent", False)
    if not isinstance(urgent, bool):
        raise InputError(f"{where}.urgent", f"must be true or false (got {urgent!r})")
    filters = raw.get("filters", [])
    if not isinstance(filters, list) or not all(isinstance(f, str) and f for f in filters):
        raise InputError(f"{where}.filters", "must be a list of filter names")
    return SequenceSpec(
        id=ident,
        ra_deg=_number(raw["ra_deg"], f"{where}.ra_deg", 0, 360),
        dec_deg=_number(raw["dec_deg"], f"{where}.dec_deg", -90, 90),
        duration_s=_positive(raw["duration_s"], f"{where}.duration_s"),
        priority=_number(raw["priority"], f"{where}.priority"),
        window_start=window_start,
        window_end=window_end,
        preferred_time=opt("preferred_time", _instant),
        min_altitude_deg=_number(
            raw.get("min_altitude_deg", 30.0), f"{where}.min_altitude_deg", 0, 89
        ),
        max_airmass=opt("max_airmass", lambda v, w: _number(v, w, 1, 100)),
        min_moon_separation_deg=opt("min_moon_separation_deg", lambda v, w: _number(v, w, 0, 180)),
        twilight=twilight,
        urgent=urgent,
        filters=tuple(filters),
    )


def _positive(value: Any, where: str) -> float:
    number = _number(value, where, 0, MAX_DURATION_S)
    if number <= 0:
        raise InputError(where, f"must be > 0 (got {value!r})")
    return number


def parse_input(raw: Any) -> PlanningInput:
    """Validate the decoded JSON document (see README, `pyros plan`)."""
    if not isinstance(raw, dict):
        raise InputError("input", "must be a JSON object with night and sequences")
    for key in raw:
        if key not in TOP_FIELDS:
            raise InputError(key, "unknown field")
    night_text = raw.get("night")
    if not isinstance(night_text, str):
        raise InputError(
            "night", f"required, the local date at dusk YYYY-MM-DD (got {night_text!r})"
        )
    try:
        night = date.fromisoformat(night_text)
    except ValueError:
        raise InputError("night", f"not a YYYY-MM-DD date: {night_text!r}") from None
    sequences = raw.get("sequences")
    if not isinstance(sequences, list):
        raise InputError("sequences", "required, a list of sequence objects")
    seen: set[str] = set()
    specs = [_sequence(item, i, seen) for i, item in enumerate(sequences)]
    site = _site(raw["site"]) if raw.get("site") is not None else None
    return PlanningInput(night, site, specs)


def read_input(path: Path) -> PlanningInput:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(str(path), f"cannot read ({exc.strerror})") from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(str(path), f"invalid JSON: {exc}") from None
    return parse_input(raw)


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def result_document(result: PlanResult) -> dict:
    return {
        "night": result.night.isoformat(),
        "night_start": _iso(result.night_start),
        "night_end": _iso(result.night_end),
        "entries": [
            {"id": e.id, "start": _iso(e.start), "end": _iso(e.end)}
            for e in sorted(result.entries, key=lambda e: (e.start, e.id))
        ],
        "unscheduled": [{"id": u.id, "reason": u.reason} for u in result.unscheduled],
        "score": round(result.score, 6),
    }


def write_output(path: Path, result: PlanResult) -> None:
    """Write atomically: a reader never sees half a schedule."""
    path = Path(path)
    text = json.dumps(result_document(result), indent=2) + "\n"
    fd, tmp = tempfile.mkstemp(dir=path.parent if str(path.parent) else ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def plan_input(planning: PlanningInput, config) -> PlanResult:
    """Plan the whole night of an offline input with the config's site, twilight and overheads.

    No `now`: the plan covers the night from dusk. The input's site, if given, replaces the
    config's; the mount's horizon (site.horizon_deg) still applies.
    """
    from orchestrator.planner.night import configure_astropy_offline, night_grid
    from orchestrator.planner.scheduler import plan_night
    from orchestrator.planner.spec import Overheads

    configure_astropy_offline()
    site = planning.site or Site.from_config(config.site)
    try:
        grid = night_grid(site, planning.night)
    except ValueError as exc:
        raise InputError("night", str(exc)) from None
    return plan_night(
        grid,
        planning.sequences,
        Overheads.from_config(config.overheads),
        default_twilight=config.site.twilight,
        horizon_deg=config.site.horizon_deg,
    )
