"""Simulation mode only (`[simulators] enabled`): the environment page's "fake alarm (rain)".

The rain goes through the PLC like a scenario's `plcSimulator` events: the PLC simulator is
told (`SIMULATE` command on its TCP port, the address the gateway polls) to report 12 mm/h on
its rain gauges; the gateway then decides UNSAFE and the majordome closes, as with real rain.
A real PLC answers the command with ERROR, and the route does not exist on a real site.
"""

from __future__ import annotations

import logging

from flask import Blueprint, abort, flash, redirect, url_for
from flask_login import current_user

from orchestrator.plc_command import PlcCommandError, send_command
from orchestrator.users import Permission
from web.auth import permission_required, runtime

blueprint = Blueprint("simulation", __name__, url_prefix="/simulation")
log = logging.getLogger("pyros.web")
RAIN_GAUGES = (("WXT520", "RainRate"), ("VantagePro", "RainRate"))  # as the shipped scenario
RAIN_MM_H = 12.0


@blueprint.app_context_processor
def _simulated() -> dict[str, bool]:
    return {"simulated": runtime().config.simulators.enabled}


def set_rain(rate_mm_h: float) -> None:
    """Tell the PLC simulator to report `rate_mm_h` on every rain gauge."""
    config = runtime().config
    host, port = config.plc.host_port
    for device, value in RAIN_GAUGES:
        action = {"device_name": device, "value_name": value, "value": rate_mm_h}
        send_command(host, port, {"name": "SIMULATE", "action": action}, config.plc.timeout_s)


def _weather(rate_mm_h: float, what: str):
    if not runtime().config.simulators.enabled:
        abort(404)
    try:
        set_rain(rate_mm_h)
    except PlcCommandError as exc:
        flash(f"error: {exc}")
        return redirect(url_for("environment.page"))
    log.warning("%s by %s (simulation)", what, current_user.username)
    flash(f"{what}: the PLC simulator reports {rate_mm_h:g} mm/h")
    return redirect(url_for("environment.page"))


@blueprint.post("/rain")
@permission_required(Permission.OPERATE)
def rain():
    return _weather(RAIN_MM_H, "fake alarm (rain)")


@blueprint.post("/dry")
@permission_required(Permission.OPERATE)
def dry():
    return _weather(0.0, "rain stopped")
