"""Device commands: `pyros devices check`, `pyros devices discover`, `pyros devices simulate`.

Heavy imports (astropy, alpyca through the adapters) happen inside the commands so that
`pyros --help` stays fast.
"""

from __future__ import annotations

import os

import click

from orchestrator.cli.context import CliContext, config_option


@click.group()
def devices() -> None:
    """Check, discover and simulate the observatory's devices."""


@devices.command()
@click.option("--force", is_flag=True, help="Operator: run even while UNSAFE (logged).")
@config_option
@click.pass_obj
def check(obj: CliContext, force: bool) -> None:
    """Connect every configured device and run a self-test; exit 1 on any failure.

    Slews the mount near the zenith, turns the dome to it, opens and closes the shutter,
    moves the filter wheels and the focuser, takes a 1 s exposure per camera written as FITS
    (with its Image row; the database must be initialised), and parks the mount.
    Refused (exit 1, nothing moves) while the safety monitor says UNSAFE or cannot be
    reached, unless --force.
    """
    import logging

    from orchestrator.devices.selftest import SelfTest, format_results
    from orchestrator.devices.status import DeviceStatusStore
    from orchestrator.majordome.safety import read_safety
    from orchestrator.status import system_status

    runtime = obj.runtime("devices")
    if not runtime.config.devices.configured():
        raise click.ClickException("no device is configured (devices.<role> in the config)")
    database = system_status(runtime)["database"]
    if not database["ok"]:
        # Images and device status go to the database: say so before moving anything.
        raise click.ClickException(f"database not ready: {database['error'] or 'run pyros init'}")
    verdict = read_safety(runtime)
    if not verdict.is_safe:
        if not force:
            raise click.ClickException(
                f"refused: safety is {verdict.text()} (from {verdict.source}); the check opens "
                "the dome and moves the mount. An operator may use --force."
            )
        logging.getLogger("orchestrator.devices").warning(
            "devices check FORCED while %s", verdict.text()
        )
        click.echo(f"WARNING: forced while {verdict.text()}")
    results = SelfTest(runtime, DeviceStatusStore(runtime)).run()
    click.echo(format_results(results))
    if not all(r.ok for r in results):
        raise SystemExit(1)


@devices.command()
@click.option("--port", default=32227, show_default=True, help="Alpaca discovery UDP port.")
@click.option("--timeout", "timeout_s", default=2.0, show_default=True, help="Seconds to wait.")
@click.option(
    "--network",
    "networks",
    multiple=True,
    help="IPv4 network to search, e.g. 192.168.1.0/24 (repeatable; default: every adapter's).",
)
def discover(port: int, timeout_s: float, networks: tuple[str, ...]) -> None:
    """List the Alpaca servers and devices answering UDP discovery on the local network."""
    from alpaca_devices.discovery import broadcast_addresses, discover_devices
    from orchestrator.errors import InputError

    try:
        broadcast_addresses(networks)
    except ValueError as exc:
        raise InputError("--network", str(exc)) from None
    servers = discover_devices(port=port, timeout_s=timeout_s, networks=networks)
    if not servers:
        click.echo(f"no Alpaca server answered on UDP port {port}")
        return
    for server in servers:
        click.echo(f"{server.address}")
        if server.error:
            click.echo(f"  (device list unavailable: {server.error})")
        for dev in server.devices:
            click.echo(f"  {dev.device_type:<20} #{dev.device_number:<3} {dev.name}")


@devices.command()
@click.pass_obj
def simulate(obj: CliContext) -> None:
    """Run the alpaca-simulators package for the configured site (what `pyros start` runs).

    Its request log goes to `folders.logs/alpaca-simulator.log` (to the console with -v).
    """
    from simulators.alpaca_sim import prepare, simulator_argv

    config = obj.runtime("alpaca-simulator").config
    host, port = config.simulators.alpaca_host_port
    time_scale = config.simulators.device_time_scale(config.clock.speed)
    yaml_path = prepare(config.folders.data, config.site, time_scale)
    argv = simulator_argv(yaml_path, host, port, time_scale)
    scale = f", {time_scale:g}× real time" if time_scale != 1.0 else ""
    click.echo(f"pyros: alpaca-simulators on {host}:{port} with {yaml_path}{scale}")
    if obj.verbosity == 0:
        # Its server logs every request: keep that out of the console of `pyros start`.
        log_path = config.folders.logs / "alpaca-simulator.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        click.echo(f"pyros: alpaca-simulators log: {log_path} (-v shows it here)")
        fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)
    # Become the simulator: the supervisor's signals then reach it directly.
    os.execv(argv[0], argv)


def register(cli: click.Group) -> None:
    cli.add_command(devices)
