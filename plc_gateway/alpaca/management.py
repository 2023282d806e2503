"""Alpaca Management API v1 (data/ascom/AlpacaManagementAPI_v1.yaml) and the /setup pages.

`configureddevices` lists every device with a UniqueID derived from the site name, device
type and number, so it stays the same across restarts and machines (clients key on it).
"""

from __future__ import annotations

import uuid
from html import escape

from flask import Blueprint, Response

from plc_gateway.alpaca.devices import DRIVER_VERSION, AlpacaDevice
from plc_gateway.alpaca.envelope import envelope, parse_call

_NAMESPACE = uuid.UUID("5f1b8f0e-4b7a-4d0e-9a53-7079726f7321")  # fixed: PyROS gateway devices


def unique_id(site_name: str, device_type: str, number: int) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{site_name}/{device_type}/{number}"))


def management_blueprint(devices: list[AlpacaDevice], site_name: str) -> Blueprint:
    bp = Blueprint("alpaca_management", __name__)

    @bp.get("/management/apiversions")
    def apiversions():
        return envelope(parse_call(), [1])

    @bp.get("/management/v1/description")
    def description():
        return envelope(
            parse_call(),
            {
                "ServerName": "PyROS plc_gateway",
                "Manufacturer": "PyROS",
                "ManufacturerVersion": DRIVER_VERSION,
                "Location": site_name,
            },
        )

    @bp.get("/management/v1/configureddevices")
    def configureddevices():
        return envelope(
            parse_call(),
            [
                {
                    "DeviceName": d.device_name,
                    "DeviceType": _ascom_type(d.device_type),
                    "DeviceNumber": d.number,
                    "UniqueID": d.unique_id,
                }
                for d in devices
            ],
        )

    @bp.get("/setup")
    def setup():
        rows = "".join(
            f"<li><a href='/setup/v1/{d.device_type}/{d.number}/setup'>"
            f"{escape(d.device_name)}</a> ({_ascom_type(d.device_type)} #{d.number})</li>"
            for d in devices
        )
        return _page(
            "PyROS Alpaca gateway",
            f"<p>PyROS plc_gateway {DRIVER_VERSION} (manufacturer PyROS), site "
            f"{escape(site_name)}.</p><ul>{rows}</ul><p>Address, port and discovery port are "
            "set in the PyROS configuration (<code>[gateway]</code>) and read at start.</p>",
        )

    @bp.get("/setup/v1/<device_type>/<int:number>/setup")
    def device_setup(device_type: str, number: int):
        for d in devices:
            if d.device_type == device_type and d.number == number:
                return _page(
                    d.device_name,
                    f"<p>{escape(d.description_text)}</p><p>UniqueID {d.unique_id}</p>"
                    "<p>Nothing to set here: thresholds live in the PyROS configuration "
                    "(<code>[safety]</code>), read at start.</p>",
                )
        # Management API: an unsupported device on the /setup interface is a 403 HTML page.
        return _page("Unknown device", f"<p>No {escape(device_type)} number {number}.</p>", 403)

    return bp


def _ascom_type(device_type: str) -> str:
    return {"safetymonitor": "SafetyMonitor", "observingconditions": "ObservingConditions"}[
        device_type
    ]


def _page(title: str, body: str, status: int = 200) -> Response:
    html = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title></head>"
        f"<body><h1>{escape(title)}</h1>{body}</body></html>"
    )
    return Response(html, status=status, mimetype="text/html")
