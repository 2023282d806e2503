"""A thin ASCOM Alpaca server (Flask blueprints) for the gateway's devices.

`create_alpaca_app()` builds the WSGI app that `plc_gateway.server` serves with waitress.
"""

from __future__ import annotations

from flask import Flask

from plc_gateway.alpaca.devices import (
    ObservingConditionsDevice,
    SafetyMonitorDevice,
    SynthesisSource,
)
from plc_gateway.alpaca.envelope import device_blueprint
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
    return app
