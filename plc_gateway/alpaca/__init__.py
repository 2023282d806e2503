"""A thin ASCOM Alpaca server (Flask blueprints) for the gateway's devices.

`create_alpaca_app()` builds the WSGI app that `plc_gateway.server` serves with waitress.
"""

from __future__ import annotations

import logging

from flask import Flask
from werkzeug.exceptions import HTTPException

from plc_gateway.alpaca.devices import (
    ObservingConditionsDevice,
    SafetyMonitorDevice,
    SynthesisSource,
)
from plc_gateway.alpaca.envelope import BadRequest, bad_request, device_blueprint
from plc_gateway.alpaca.management import management_blueprint, unique_id


def create_alpaca_app(source: SynthesisSource, site_name: str) -> Flask:
    devices = [
        cls(0, unique_id(site_name, cls.device_type, 0), source)
        for cls in (SafetyMonitorDevice, ObservingConditionsDevice)
    ]
    app = Flask(__name__)
    app.register_blueprint(device_blueprint({(d.device_type, d.number): d for d in devices}))
    app.register_blueprint(management_blueprint(devices, site_name))
    app.extensions["alpaca_devices"] = devices
    # A bad ClientID on a management route is a 400 naming it; an unexpected failure is one
    # logged line and a plain-text refusal: never a traceback page nor a 5xx (issue 18).
    app.register_error_handler(BadRequest, lambda exc: bad_request(str(exc)))
    app.register_error_handler(Exception, _unexpected)
    return app


def _unexpected(exc: Exception):
    if isinstance(exc, HTTPException):  # 404, 405...: werkzeug's own answer, as plain text
        return bad_request(exc.description or exc.name) if exc.code == 400 else exc
    logging.getLogger(__name__).error("Alpaca request failed: %s: %s", type(exc).__name__, exc)
    return bad_request(f"request refused: {type(exc).__name__}")
