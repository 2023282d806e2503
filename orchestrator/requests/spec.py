"""The format-neutral description of an observation request, before it reaches the database.

The XML parser, the JSON API and the alert manager all produce a `RequestSpec`; the request
builder checks it and writes it. Plain numbers with units in the names, UTC datetimes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ConfigDict, TypeAdapter, ValidationError

from orchestrator.errors import InputError

# JSON bodies are checked field by field; an unknown key is an error, never silently dropped.
_STRICT = ConfigDict(extra="forbid")


@dataclass
class PlanSpec:
    """`count` exposures of `exposure_s` seconds through one filter."""

    __pydantic_config__ = _STRICT
    filter_name: str
    exposure_s: float
    count: int = 1
    binning: int = 1


@dataclass
class AlbumSpec:
    """What one camera channel ("VIS" or "NIR") takes during the sequence."""

    __pydantic_config__ = _STRICT
    channel: str
    plans: list[PlanSpec]


@dataclass
class SequenceSpec:
    __pydantic_config__ = _STRICT
    name: str
    target_name: str
    ra_deg: float
    dec_deg: float
    window_start: datetime
    window_end: datetime
    duration_s: float
    albums: list[AlbumSpec]
    priority: float = 0.0
    preferred_time: datetime | None = None
    min_altitude_deg: float = 30.0
    max_airmass: float | None = None
    min_moon_separation_deg: float | None = None
    twilight: str | None = None  # civil, nautical, astronomical; none = the site's default
    is_urgent: bool = False

    @property
    def plans(self) -> list[PlanSpec]:
        return [plan for album in self.albums for plan in album.plans]


@dataclass
class RequestSpec:
    __pydantic_config__ = _STRICT
    name: str
    sequences: list[SequenceSpec] = field(default_factory=list)
    program: str | None = None  # name of the scientific program charged
    is_alert: bool = False

    @property
    def duration_s(self) -> float:
        return sum(sequence.duration_s for sequence in self.sequences)


_ADAPTER = TypeAdapter(RequestSpec)


def field_path(loc: tuple[Any, ...]) -> str:
    """('sequences', 0, 'ra_deg') -> 'sequences[0].ra_deg': the one spelling of a field."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "request"


def _aware_iso(value: Any) -> str:
    """Python callers (the alert manager) may pass datetimes: as ISO text, zone kept."""
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not a JSON type")


def spec_from_mapping(data: Any) -> RequestSpec:
    """A JSON-like mapping (the API's body) to a spec; types only, ranges are the builder's.

    Strict JSON types (issue 18): a number is a JSON number, never a string or a boolean; a
    time is an ISO 8601 string with a zone, never a bare number; a count is a whole number.
    """
    if not isinstance(data, dict):
        raise InputError("request", "must be a JSON object")
    try:
        text = json.dumps(data, allow_nan=False, default=_aware_iso)
    except ValueError:
        raise InputError("request", "numbers must be finite (no NaN or Infinity)") from None
    except TypeError as exc:
        raise InputError("request", f"not JSON data ({exc})") from None
    try:
        spec = _ADAPTER.validate_json(text, strict=True)
    except ValidationError as exc:
        err = exc.errors()[0]
        reason = err["msg"]
        if err["type"] in ("extra_forbidden", "unexpected_keyword_argument"):
            reason = "unknown field"
        elif err["type"] == "missing":
            reason = "required field is missing"
        elif "input" in err and not isinstance(err["input"], dict | list):
            reason = f"{reason} (got {err['input']!r})"
        raise InputError(field_path(tuple(err["loc"])), reason) from None
    for index, seq in enumerate(spec.sequences):
        for name in ("window_start", "window_end", "preferred_time"):
            value = getattr(seq, name)
            if value is not None and value.utcoffset() is None:
                raise InputError(
                    f"sequences[{index}].{name}",
                    "an ISO 8601 time needs a zone (e.g. 2026-11-25T20:00:00Z)",
                )
    return spec


def spec_to_mapping(spec: RequestSpec) -> dict[str, Any]:
    """The spec as JSON-ready data (datetimes in ISO 8601 UTC); `spec_from_mapping` reverses it."""
    return _ADAPTER.dump_python(spec, mode="json")
