"""The web form's fields as the API's JSON body: one sequence typed in.

Numbers are read here (a field that is not a number is refused, naming it), so the JSON API's
strict types apply to the form too; the times of the form are UTC.
"""

from __future__ import annotations

import math
from typing import Any

from orchestrator.errors import InputError
from orchestrator.model import Channel


def _utc(field: str, text: str) -> str:
    """<input type=datetime-local> has no zone; the form says its times are UTC."""
    text = text.strip()
    if not text:
        raise InputError(field, "required field is missing")
    if len(text) == 16:  # YYYY-MM-DDTHH:MM
        text += ":00"
    return text if text.endswith("Z") or "+" in text[10:] else text + "Z"


def _number(form: dict[str, str], field: str, default: str | None = None) -> float:
    text = (form.get(field) or "").strip() or default
    if text is None:
        raise InputError(field, "required field is missing")
    try:
        value = float(text)
    except ValueError:
        raise InputError(field, f"must be a number (got {text[:40]!r})") from None
    if not math.isfinite(value):
        raise InputError(field, f"must be a finite number (got {text[:40]!r})")
    return value


def _integer(form: dict[str, str], field: str, default: str) -> int:
    text = (form.get(field) or "").strip() or default
    if not text.isdigit() or len(text) > 9:
        raise InputError(field, f"must be a whole number (got {text[:40]!r})")
    return int(text)


def _album(form: dict[str, str], channel: Channel) -> dict[str, Any] | None:
    prefix = channel.value.lower()
    if not form.get(f"{prefix}_exposure_s", "").strip():
        return None  # this camera is not used
    return {
        "channel": channel.value,
        "plans": [
            {
                "filter_name": form.get(f"{prefix}_filter", ""),
                "exposure_s": _number(form, f"{prefix}_exposure_s"),
                "count": _integer(form, f"{prefix}_count", "1"),
            }
        ],
    }


def mapping_from_form(form: dict[str, str]) -> dict[str, Any]:
    """The form's fields as the API's JSON body (the rest is checked by `spec_from_mapping`)."""
    albums = [a for ch in (Channel.VIS, Channel.NIR) if (a := _album(form, ch)) is not None]
    sequence: dict[str, Any] = {
        "name": form.get("sequence_name") or form.get("target_name", ""),
        "target_name": form.get("target_name", ""),
        "ra_deg": _number(form, "ra_deg"),
        "dec_deg": _number(form, "dec_deg"),
        "window_start": _utc("window_start", form.get("window_start", "")),
        "window_end": _utc("window_end", form.get("window_end", "")),
        "duration_s": _number(form, "duration_s"),
        "priority": _number(form, "priority", "0"),
        "min_altitude_deg": _number(form, "min_altitude_deg", "30"),
        "albums": albums,
    }
    return {
        "name": form.get("name", ""),
        "program": form.get("program") or None,
        "sequences": [sequence],
    }
