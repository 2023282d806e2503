"""Checking an operator command before it is queued: the kind, and each argument by name.

The page's form and `/api/majordome/commands` both end here, then in `commands.queue` (the
CLI's path): a bad field is refused with 400 and nothing is queued. The orchestrator's runner
checks again (mode, safety interlock) and answers in the row.
"""

from __future__ import annotations

import math
from typing import Any

from orchestrator.errors import InputError
from orchestrator.majordome.commands import DEVICE_KINDS, MAJORDOME_KINDS, MOVES
from orchestrator.model import Command

WEB_KINDS = MAJORDOME_KINDS + DEVICE_KINDS
CAMERAS = ("vis", "nir")
IMAGE_TYPES = ("light", "dark", "bias", "flat")
RANGES_DEG = {"ra_deg": (0, 360), "dec_deg": (-90, 90), "alt_deg": (0, 90), "az_deg": (0, 360)}
ALLOWED = {
    "slew": {"ra_deg", "dec_deg", "alt_deg", "az_deg", "force"},
    "unpark": {"force"},
    "dome_open": {"force"},
    "expose": {"camera", "filter", "exposure_s", "image_type"},
    "lights": {"on"},
}


def _number(args: dict[str, Any], key: str, low: float, high: float) -> float:
    value = args.get(key)
    if value is None:
        raise InputError(key, "required field is missing")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InputError(key, f"must be a number (got {value!r:.40})")
    if not low <= value <= high:
        raise InputError(key, f"must be within {low:g}..{high:g} (got {value!r})")
    return float(value)


def _flag(args: dict[str, Any], key: str) -> bool:
    value = args.get(key, False)
    if not isinstance(value, bool):
        raise InputError(key, f"must be true or false (got {value!r:.40})")
    return value


def check_command(kind: Any, arguments: Any) -> tuple[str, dict[str, Any]]:
    """(kind, arguments) as the runner expects them; InputError names the first bad field."""
    if not isinstance(kind, str) or kind not in WEB_KINDS:
        raise InputError("kind", f"must be one of {', '.join(WEB_KINDS)} (got {kind!r:.40})")
    if arguments is None:
        arguments = {}
    if not isinstance(arguments, dict):
        raise InputError("arguments", "must be an object")
    unknown = sorted(set(arguments) - ALLOWED.get(kind, set()))
    if unknown:
        raise InputError(f"arguments.{unknown[0]}"[:64], f"not an argument of {kind}")
    args: dict[str, Any] = {}
    if kind == "slew":
        pair = ("alt_deg", "az_deg") if {"alt_deg", "az_deg"} & arguments.keys() else None
        pair = pair or ("ra_deg", "dec_deg")
        if pair == ("alt_deg", "az_deg") and {"ra_deg", "dec_deg"} & arguments.keys():
            raise InputError("arguments", "give RA/Dec or alt/az, not both")
        for key in pair:
            args[key] = _number(arguments, key, *RANGES_DEG[key])
    elif kind == "expose":
        camera = arguments.get("camera")
        if camera not in CAMERAS:
            raise InputError("camera", f"must be vis or nir (got {camera!r:.40})")
        image_type = arguments.get("image_type", "light")
        if image_type not in IMAGE_TYPES:
            raise InputError("image_type", f"must be one of {', '.join(IMAGE_TYPES)}")
        filter_name = arguments.get("filter") or None
        if filter_name is not None and (not isinstance(filter_name, str) or len(filter_name) > 32):
            raise InputError("filter", "must be a filter name (32 characters at most)")
        args = {
            "camera": camera,
            "filter": filter_name,
            "exposure_s": _number(arguments, "exposure_s", 0, 3600),
            "image_type": image_type,
        }
    elif kind == "lights":
        if not isinstance(arguments.get("on"), bool):
            raise InputError("on", f"must be true or false (got {arguments.get('on')!r:.40})")
        args["on"] = arguments["on"]
    if kind in MOVES:
        args["force"] = _flag(arguments, "force")
    return kind, args


def _form_number(form: dict[str, str], key: str) -> float | None:
    text = (form.get(key) or "").strip()
    if not text:
        return None
    try:
        return float(text[:40])
    except ValueError:
        raise InputError(key, f"must be a number (got {text[:40]!r})") from None


def arguments_from_form(kind: str, form: dict[str, str]) -> dict[str, Any]:
    """The page's form fields (strings) as the JSON arguments `check_command` reads."""
    args: dict[str, Any] = {}
    if kind == "slew":
        altaz = form.get("frame") == "altaz"
        for key in ("alt_deg", "az_deg") if altaz else ("ra_deg", "dec_deg"):
            args[key] = _form_number(form, key)
    elif kind == "expose":
        args = {
            "camera": form.get("camera", ""),
            "filter": form.get("filter", "").strip() or None,
            "exposure_s": _form_number(form, "exposure_s"),
            "image_type": form.get("image_type") or "light",
        }
    elif kind == "lights":
        args["on"] = form.get("on") == "on"
    if kind in MOVES:
        args["force"] = form.get("force") == "yes"
    return args


def command_json(row: Command) -> dict[str, Any]:
    def iso(value):
        return value.isoformat() if value is not None else None

    return {
        "id": row.id,
        "telescope": row.telescope,
        "kind": row.kind,
        "arguments": row.arguments or {},
        "issued_by": row.issued_by,
        "created": iso(row.created),
        "taken": iso(row.taken),
        "done": iso(row.done),
        "status": row.status,
        "result": row.result,
    }
