"""`pyros simulate`: one whole night of the embedded system on the accelerated clock.

The composition root of a simulated night: checks the scenario (before anything starts), places
the run before dusk of the chosen night, writes the run's configuration in its own folder
(simulators/night_run.py), runs the PLC simulator, the fault proxy and the scenario's conductor
in this process and the rest as `pyros start` does (supervised children); the conductor starts
the shared clock once every process is ready, plays the scenario and stops the run after dawn;
then the night report is written when `--report DIR` is given.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from pathlib import Path

import click

from orchestrator.cli.context import CliContext

log = logging.getLogger(__name__)


def _night(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"must be YYYY-MM-DD (got {value!r})", param_hint="--night"
        ) from None


@click.command()
@click.argument("scenario", required=False, type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--speed",
    type=click.FloatRange(1, 10000),
    default=None,
    help="Clock seconds per real second (default 100: a whole night in under 10 minutes).",
)
@click.option("--night", "night_text", default=None, help="Local date at dusk (default: tonight).")
@click.option(
    "--report",
    "report_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Write the night report into this folder after the night.",
)
@click.option(
    "--progress-every",
    "progress_s",
    type=click.FloatRange(0.5, 600),
    default=5.0,
    show_default=True,
    help="Wall seconds between two progress lines.",
)
@click.pass_obj
def simulate(
    obj: CliContext,
    scenario: Path | None,
    speed: float | None,
    night_text: str | None,
    report_dir: Path | None,
    progress_s: float,
) -> None:
    """Run one whole simulated night (dusk to dawn) with an optional SCENARIO file.

    Scenario times are seconds after the start of the run at its speed: an entry at t fires
    when the clock reads start + t × speed (see the README, "Simulated night").
    """
    from orchestrator.config import load_config
    from orchestrator.errors import InputError
    from simulators.night_run import DEFAULT_SPEED, place_night
    from simulators.night_scenario import load_night_scenario

    config = load_config(obj.config_path)  # a bad config: exit 2 before anything starts
    night = _night(night_text)
    speed = speed or DEFAULT_SPEED
    checked = load_night_scenario(scenario, config) if scenario else None  # exit 2 if bad
    try:
        placement = place_night(config, night)
    except ValueError as exc:
        raise InputError("--night", str(exc)) from None
    bad_roles = [r for r, d in config.devices.configured().items() if d.adapter != "alpaca"]
    if bad_roles:
        raise InputError(
            f"devices.{bad_roles[0]}.adapter",
            "a simulated night runs on the Alpaca device simulator: use adapter = 'alpaca'",
        )
    code = run_night(obj, config, checked, placement, speed, report_dir, progress_s)
    raise SystemExit(code)


def run_night(obj, config, checked, placement, speed, report_dir, progress_s) -> int:
    import threading

    from orchestrator import db
    from orchestrator.bootstrap import init_site
    from orchestrator.cli.core import ADMIN_PASSWORD_ENV
    from orchestrator.logs import setup_logging
    from orchestrator.runtime import Runtime
    from orchestrator.supervisor import Supervisor, busy_ports, embedded_processes, pyros_argv
    from simulators.conductor import Conductor, kill_child
    from simulators.fault_proxy import FaultProxy
    from simulators.night_run import RunPorts, overrides, run_config
    from simulators.plc_simulator import PlcSimulator

    stamp = dt.datetime.now(dt.UTC)
    folder = (config.folders.data / "simulate" / f"{placement.night}-{stamp:%H%M%S}").resolve()
    ports = RunPorts.free()
    gun = folder / "clock-started"  # holds real_start once every process is ready
    changes = overrides(config, placement, speed, gun, folder, ports)
    run_cfg, cfg_path = run_config(config, changes, folder)
    specs = [s for s in embedded_processes(run_cfg) if s.name != "plc-sim"]  # PLC: in here
    busy = busy_ports(specs)
    if busy:
        for line in busy:
            click.echo(f"pyros: {line}", err=True)
        return 1
    setup_logging(obj.verbosity, run_cfg.folders.logs, "simulate")
    runtime = Runtime(run_cfg)  # its clock waits at the start until the gun file is written
    db.upgrade(runtime.engine)
    # a new database per night: its admin password is printed (or $PYROS_ADMIN_PASSWORD)
    created = init_site(runtime, os.environ.get(ADMIN_PASSWORD_ENV) or None)
    hours = (placement.hard_end - placement.start).total_seconds() / 3600
    click.echo(
        f"pyros simulate: night {placement.night} at {run_cfg.site.name}, clock from "
        f"{placement.start:%Y-%m-%d %H:%M} UTC (dusk {placement.times.dusk:%H:%M}, dawn "
        f"{placement.times.dawn:%H:%M}) at ×{speed:g}: at most {hours:.1f} h of night in "
        f"{hours * 3600 / speed / 60:.1f} min; folder {folder}"
    )
    if checked is not None:
        click.echo(f"pyros simulate: scenario {checked.source}, {len(checked.entries)} entries")
    web = run_cfg.web
    click.echo(f"pyros simulate: web page on http://{web.host}:{web.port}/")
    if created.admin_password:
        click.echo(f"pyros simulate: user 'admin', password {created.admin_password}")
    plc = PlcSimulator("127.0.0.1", ports.plc, clock=runtime.clock).start()
    proxy = FaultProxy(("127.0.0.1", ports.alpaca), port=ports.proxy).start()
    supervisor = Supervisor(specs, pyros_argv(cfg_path, obj.verbosity), run_cfg.folders.logs)
    conductor = Conductor(
        runtime,
        checked,
        placement,
        speed,
        plc,
        proxy,
        kill_child(supervisor),
        supervisor.stop_event,
        out=lambda line: click.echo(line),
        progress_every_s=progress_s,
        ready_url=f"http://127.0.0.1:{ports.alpaca}/management/apiversions",
        gun=gun,
    )
    # after the supervisor's signal handlers are in place (only it may stop the run)
    threading.Timer(0.5, conductor.start).start()
    try:
        code = supervisor.run()
    finally:
        supervisor.stop_event.set()
        conductor.join(30)
        proxy.stop()
        plc.stop()
    summary = conductor.summary
    click.echo(
        f"pyros simulate: night {'over' if summary.completed else 'stopped early'}: "
        f"{summary.executed} sequences executed, {summary.frames} light frames, unsafe "
        f"{dt.timedelta(seconds=round(summary.unsafe_s))}, {summary.wall_s:.0f} s of wall time"
    )
    if report_dir is not None:
        for path in write_report(runtime, placement, report_dir):
            click.echo(f"pyros simulate: report {path}")
    runtime.engine.dispose()
    if code == 0 and not summary.completed:
        return 1
    return code


def write_report(runtime, placement, out_dir: Path) -> tuple[Path, ...]:
    """The night report of the simulated night (HTML + JSON), as the majordome writes it."""
    from orchestrator.report import write_night_report

    return tuple(write_night_report(runtime, placement.night, out_dir))


def register(cli: click.Group) -> None:
    cli.add_command(simulate)
