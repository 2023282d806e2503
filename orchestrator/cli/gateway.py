"""Commands of the environment capability: `pyros gateway` and `pyros plc-sim`."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import click

from orchestrator.cli.context import CliContext, config_option


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    return stop


def _host_port(value: str | None, option: str) -> tuple[str, int] | None:
    if value is None:
        return None
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise click.BadParameter(f"must be HOST:PORT (got {value!r})", param_hint=option)
    return host, int(port)


@click.command()
@config_option
@click.option("--port", type=click.IntRange(0, 65535), default=None, help="Alpaca HTTP port.")
@click.option("--plc", "plc", default=None, metavar="HOST:PORT", help="PLC address.")
@click.pass_obj
def gateway(obj: CliContext, port: int | None, plc: str | None) -> None:
    """Run the PLC gateway: synthesis, Alpaca SafetyMonitor/ObservingConditions, discovery."""
    from plc_gateway.server import Gateway, run_gateway

    plc_address = _host_port(plc, "--plc")
    runtime = obj.runtime("gateway")
    stop = _stop_on_signals()
    gw = Gateway(runtime.config, runtime.clock, runtime.sessions, plc_address, port)
    run_gateway(gw, stop)


@click.command("plc-sim")
@click.option("--host", default=None, help="Listen address (default: host of plc.address).")
@click.option("--port", type=click.IntRange(0, 65535), default=None, help="TCP port.")
@click.option(
    "--scenario",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    default=None,
    help="Scenario file (seed format); default: simulators.plc_scenario.",
)
@click.pass_obj
def plc_sim(obj: CliContext, host: str | None, port: int | None, scenario: Path | None) -> None:
    """Run the PLC simulator (answers STATUS like COLIBRI's Beckhoff PLC)."""
    from simulators.plc_simulator import run_plc_simulator
    from simulators.weather import WeatherModel

    runtime = obj.runtime("plc-sim")
    config = runtime.config
    default_host, default_port = config.plc.host_port
    weather = (
        WeatherModel(config.simulators.weather_seed, config.site.longitude_deg)
        if config.simulators.weather_variation
        else None
    )
    run_plc_simulator(
        host or default_host,
        default_port if port is None else port,
        scenario or config.simulators.plc_scenario,
        _stop_on_signals(),
        runtime.clock,
        weather,
    )


def register(cli: click.Group) -> None:
    cli.add_command(gateway)
    cli.add_command(plc_sim)
