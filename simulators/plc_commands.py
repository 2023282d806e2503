"""The PLC simulator's answers to commands other than STATUS.

`LIGHTS` (value on/off) switches the site lights, shown in STATUS as the `SITE_LIGHTS` device;
`SIMULATE` (simulator only: a real PLC answers ERROR) applies one `plcSimulator` scenario action,
so that the web's "fake rain" goes through the PLC like a scenario does.
"""

from __future__ import annotations

from typing import Any

from orchestrator.errors import InputError

LIGHTS_DEVICE = "SITE_LIGHTS"


def _error(message: str) -> list[dict[str, Any]]:
    return [{"name": "ERROR", "message": message}]


def answer_command(simulator, request: Any) -> list[dict[str, Any]] | None:
    """The answer to a LIGHTS or SIMULATE request; None for anything else."""
    if not isinstance(request, dict) or not isinstance(request.get("command"), list):
        return None
    commands = [c for c in request["command"] if isinstance(c, dict)]
    if len(commands) != 1 or commands[0].get("name") not in ("LIGHTS", "SIMULATE"):
        return None
    command = commands[0]
    if command["name"] == "LIGHTS":
        value = command.get("value")
        if value not in ("on", "off"):
            return _error(f"LIGHTS.value: must be 'on' or 'off' (got {value!r:.40})")
        simulator.set_lights(value)
        return [{"name": "LIGHTS", "value": value}]
    try:
        simulator.apply(command.get("action"))
    except InputError as exc:
        return _error(f"SIMULATE: {exc}")
    return [{"name": "SIMULATE", "done": True}]


def lights_device(value: str) -> dict[str, Any]:
    return {
        "name": LIGHTS_DEVICE,
        "type": "site",
        "serial_number": "sim",
        "valid": "yes",
        "values": [{"name": "status", "value": value, "unit": "string", "comment": "on or off"}],
    }
