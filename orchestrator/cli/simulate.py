"""`pyros simulate`: one whole night of the embedded system on the accelerated clock.

The composition root of a simulated night: checks the scenario (before anything starts), places
the run before dusk of the chosen night, writes the run's configuration in its own folder
(simulators/night_run.py), starts the PLC simulator and the fault proxy in this process and the
rest as `pyros start` does (supervised children), plays the scenario (simulators/conductor.py)
and stops by itself after dawn; then writes the night report when `--report DIR` is given.
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
    from simulators.fault_proxy import FaultProxy
    from simulators.night_run import RunPorts, overrides, run_config

    stamp = dt.datetime.now(dt.UTC)
    folder = (config.folders.data / "simulate" / f"{placement.night}-{stamp:%H%M%S}").resolve()
    ports = RunPorts.free()
    changes = overrides(config, placement, speed, stamp, folder, ports)  # real_start: later
    run_cfg, cfg_path = run_config(config, changes, folder)
    specs = [s for s in embedded_processes(run_cfg) if s.name != "plc-sim"]  # PLC: in here
    busy = busy_ports(specs)
    if busy:
        for line in busy:
            click.echo(f"pyros: {line}", err=True)
        return 1
    setup_logging(obj.verbosity, run_cfg.folders.logs, "simulate")
    boot = Runtime(run_cfg)
    db.upgrade(boot.engine)
    # a new database per night: its admin password is printed (or $PYROS_ADMIN_PASSWORD)
    created = init_site(boot, os.environ.get(ADMIN_PASSWORD_ENV) or None)
    boot.engine.dispose()
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
    proxy = FaultProxy(("127.0.0.1", ports.alpaca), port=ports.proxy).start()
    first = [s for s in specs if s.name == "alpaca-simulator"]
    supervisor = Supervisor(first, pyros_argv(cfg_path, obj.verbosity), run_cfg.folders.logs)
    launch = Launch(obj, config, checked, placement, speed, changes, folder, ports, proxy)
    launch.rest = [s for s in specs if s not in first]
    launch.supervisor = supervisor
    launch.progress_s = progress_s
    threading.Thread(target=launch.run, name="launch", daemon=True).start()
    try:
        code = supervisor.run()
    finally:
        supervisor.stop_event.set()
        launch.close()
        proxy.stop()
    summary = launch.conductor.summary if launch.conductor else None
    if summary is None:
        click.echo("pyros simulate: the night did not start", err=True)
        return code or 1
    click.echo(
        f"pyros simulate: night {'over' if summary.completed else 'stopped early'}: "
        f"{summary.executed} sequences executed, {summary.frames} light frames, unsafe "
        f"{dt.timedelta(seconds=round(summary.unsafe_s))}, {summary.wall_s:.0f} s of wall time"
    )
    if report_dir is not None:
        for path in write_report(launch.runtime, placement, report_dir):
            click.echo(f"pyros simulate: report {path}")
    launch.runtime.engine.dispose()
    if code == 0 and not summary.completed:
        return 1
    return code


class Launch:
    """Start-up in order: the device simulator answers, then the clock is fixed (the run's
    configuration rewritten with `real_start`), the scenario's time-0 entries are played, and
    the processes that read the clock start."""

    def __init__(self, obj, config, checked, placement, speed, changes, folder, ports, proxy):
        self.obj, self.config, self.checked = obj, config, checked
        self.placement, self.speed, self.changes = placement, speed, changes
        self.folder, self.ports, self.proxy = folder, ports, proxy
        self.rest: list = []
        self.supervisor = None
        self.progress_s = 5.0
        self.runtime = None
        self.plc = None
        self.conductor = None

    def run(self) -> None:
        from orchestrator.runtime import Runtime
        from simulators.conductor import Conductor, kill_child, wait_http
        from simulators.night_run import STARTUP_S, run_config
        from simulators.plc_simulator import PlcSimulator

        stop = self.supervisor.stop_event
        url = f"http://127.0.0.1:{self.ports.alpaca}/management/apiversions"
        if not wait_http(url, stop, timeout_s=300):
            click.echo("pyros simulate: the device simulator did not answer", err=True)
            stop.set()
            return
        real_start = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=STARTUP_S)
        self.changes["clock"]["real_start"] = real_start
        run_cfg, _ = run_config(self.config, self.changes, self.folder)
        self.runtime = Runtime(run_cfg)
        self.plc = PlcSimulator("127.0.0.1", self.ports.plc, clock=self.runtime.clock).start()
        self.conductor = Conductor(
            self.runtime,
            self.checked,
            self.placement,
            self.speed,
            self.plc,
            self.proxy,
            kill_child(self.supervisor),
            stop,
            out=lambda line: click.echo(line),
            progress_every_s=self.progress_s,
        )
        self.conductor.play_at_start()  # time-0 entries: in place before the night begins
        for spec in self.rest:
            self.supervisor.add(spec)
        self.conductor.start()

    def close(self) -> None:
        if self.conductor is not None:
            self.conductor.join(30)
        if self.plc is not None:
            self.plc.stop()


def write_report(runtime, placement, out_dir: Path) -> tuple[Path, ...]:
    """The night report: the HTML+JSON writer when present, else the majordome's text report.

    Partial: `orchestrator/report/` (write_night_report) is built on another branch; until it
    is merged, the text report of orchestrator/majordome/report.py is written instead.
    """
    night = placement.night
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        from orchestrator.report import write_night_report  # type: ignore[attr-defined]
    except ImportError:
        from orchestrator.clock import ManualClock
        from orchestrator.majordome.report import report_text
        from orchestrator.runtime import Runtime

        # report_text reports the night of its clock's now: the run's clock is past dawn
        at_night = Runtime(runtime.config, ManualClock(placement.times.dusk))
        at_night.engine = runtime.engine  # the same database
        path = out_dir / f"night-{night:%Y-%m-%d}.txt"
        path.write_text(report_text(at_night), encoding="utf-8")
        return (path,)
    return tuple(write_night_report(runtime, night, out_dir))


def register(cli: click.Group) -> None:
    cli.add_command(simulate)
