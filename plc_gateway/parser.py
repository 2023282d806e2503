"""Parse the PLC's STATUS answer into sensor readings, tolerating what real PLCs send.

Unknown devices are kept, duplicated devices (the seed's lamp listed twice under two
spellings) are merged, `valid: "no"` and missing sensors are reported, keys spelled
`serial number` or `serial_number` both work. A broken answer raises `PlcAnswerError` and
nothing else, whatever the bytes (fuzzed in tests/fuzz).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any


class PlcAnswerError(Exception):
    """The PLC answered something that is not a STATUS document; the message says why."""


@dataclass(frozen=True)
class DeviceReading:
    name: str  # as the PLC spells it
    kind: str  # "meteo", "calib", ...
    valid: bool
    values: dict[str, Any]  # value name -> value (numbers as float, others as given)


@dataclass(frozen=True)
class PlcStatus:
    devices: dict[str, DeviceReading]  # by normalised name (see `device_key`)
    plc_date: str = ""
    warnings: tuple[str, ...] = field(default=())

    def number(self, device: str, value_name: str) -> float | None:
        """A finite number from a *valid* device, else None."""
        reading = self.devices.get(device_key(device))
        if reading is None or not reading.valid:
            return None
        value = reading.values.get(value_name)
        return value if isinstance(value, float) else None


def device_key(name: str) -> str:
    """`LAMP FLAT CAGIRE` and `LAMP_FLAT_CAGIRE` are the same device."""
    return re.sub(r"[\s_]+", "_", name.strip()).upper()


def _key(name: str) -> str:
    return re.sub(r"[\s_]+", "_", name.strip()).lower()


def _fields(obj: dict) -> dict[str, Any]:
    return {_key(k): v for k, v in obj.items() if isinstance(k, str)}


def _valid(raw: Any) -> bool:
    # Anything but an explicit yes is treated as invalid: safety first.
    if isinstance(raw, bool):
        return raw
    return isinstance(raw, str) and raw.strip().lower() in ("yes", "true", "1", "ok")


def _value(raw: Any) -> Any:
    if isinstance(raw, bool):
        return float(raw)
    if isinstance(raw, int | float):
        try:
            number = float(raw)  # an int beyond 1e308 raises OverflowError
        except OverflowError:
            return None
        return number if math.isfinite(number) else None
    return raw


def parse_status(text: str | bytes) -> PlcStatus:
    """Decode one STATUS answer (a JSON list holding one object named STATUS).

    Raises PlcAnswerError, never anything else, whatever the bytes (a hostile PLC answer is
    one refusal, not an exception out of the poll job).
    """
    try:
        return _parse_status(text)
    except PlcAnswerError:
        raise
    except (RecursionError, ValueError, TypeError, OverflowError, MemoryError) as exc:
        raise PlcAnswerError(f"answer not understood ({type(exc).__name__})") from None


def _parse_status(text: str | bytes) -> PlcStatus:
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise PlcAnswerError(f"answer is not JSON ({exc})") from None
    except RecursionError:  # "[" * 200000: nesting deeper than the interpreter's stack
        raise PlcAnswerError("answer is not JSON (nested too deeply)") from None
    except ValueError as exc:  # an integer of more than 4300 digits
        raise PlcAnswerError(f"answer is not JSON ({str(exc)[:80]})") from None
    items = data if isinstance(data, list) else [data]
    status = next(
        (i for i in items if isinstance(i, dict) and str(i.get("name", "")).upper() == "STATUS"),
        None,
    )
    if status is None:
        raise PlcAnswerError(f"answer holds no STATUS object: {_excerpt(text)}")
    top = _fields(status)
    devices_raw = top.get("device", top.get("devices"))
    if not isinstance(devices_raw, list):
        raise PlcAnswerError("STATUS has no 'device' list")
    devices: dict[str, DeviceReading] = {}
    warnings: list[str] = []
    for index, raw in enumerate(devices_raw):
        if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
            warnings.append(f"device #{index} has no name; ignored")
            continue
        reading = _device(raw, warnings)
        key = device_key(reading.name)
        if key in devices:
            warnings.append(f"device {reading.name!r} listed twice; readings merged")
            first = devices[key]
            reading = DeviceReading(
                first.name,
                first.kind,
                first.valid and reading.valid,
                {**first.values, **reading.values},
            )
        devices[key] = reading
    return PlcStatus(devices, str(top.get("date", "")), tuple(warnings))


def _excerpt(text: str | bytes) -> str:
    # Not str(data): printing a deeply nested or huge document can itself raise.
    raw = text if isinstance(text, str) else text[:200].decode("utf-8", "replace")
    return repr(raw[:120])


def _device(raw: dict, warnings: list[str]) -> DeviceReading:
    fields = _fields(raw)
    name = raw["name"]
    if "valid" not in fields:
        warnings.append(f"device {name!r} has no 'valid' flag; treated as invalid")
    values: dict[str, Any] = {}
    for item in fields.get("values", []) if isinstance(fields.get("values"), list) else []:
        if isinstance(item, dict) and isinstance(item.get("name"), str) and "value" in item:
            value = _value(item["value"])
            if value is None:
                warnings.append(f"{name}.{item['name']} is not a finite number; ignored")
                continue
            values[item["name"]] = value
    return DeviceReading(name, str(fields.get("type", "")), _valid(fields.get("valid")), values)
