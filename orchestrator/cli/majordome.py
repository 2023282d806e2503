"""Operator commands: `pyros majordome ...`, `pyros device ...` (MANUAL mode) and `pyros night`.

Each command is a `command` row the orchestrator takes exactly once (in a network, the one of
`--telescope NAME`, else `[telescope] name`); the CLI waits for its answer (`--wait` seconds)
and exits 1 when it is refused or failed.
"""

from __future__ import annotations

import time
from datetime import date

import click

from orchestrator.cli.context import CliContext, config_option, telescope_option

wait_option = click.option(
    "--wait",
    "wait_s",
    default=60.0,
    show_default=True,
    help="Seconds to wait for the orchestrator's answer (0: queue and return).",
)
force_option = click.option(
    "--force", is_flag=True, help="Operator: move even while UNSAFE (logged)."
)


def _send(obj: CliContext, kind: str, arguments: dict | None, wait_s: float) -> None:
    from orchestrator.majordome.commands import queue
    from orchestrator.model import Command

    runtime = obj.runtime("cli")
    command_id = queue(runtime, kind, arguments, issued_by="cli")
    if wait_s <= 0:
        click.echo(f"command {command_id} ({kind}) queued")
        return
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        with runtime.sessions() as session:
            row = session.get(Command, command_id)
            if row.done is not None:
                click.echo(f"command {command_id} ({kind}) {row.status}: {row.result}")
                if row.status != "done":
                    raise SystemExit(1)
                return
        time.sleep(0.2)
    click.echo(
        f"command {command_id} ({kind}) not answered in {wait_s:g} s "
        "(is the orchestrator running?); it stays queued"
    )
    raise SystemExit(1)


@click.group()
def majordome() -> None:
    """The night's conductor: state, mode (AUTO/MANUAL), pause, abort."""


@majordome.command("status")
@config_option
@telescope_option
@click.pass_obj
def majordome_status(obj: CliContext) -> None:
    """State, mode, reason, current sequence and the last transitions."""
    from orchestrator.majordome.states import StateStore

    store = StateStore(obj.runtime("cli"))
    snap = store.snapshot()
    paused = ", paused" if snap.paused else ""
    click.echo(
        f"majordome {snap.state.value} ({snap.mode}{paused}) since {snap.updated:%H:%M:%S}"
        f" UTC: {snap.reason}"
    )
    if snap.current_sequence_id:
        click.echo(f"current sequence {snap.current_sequence_id}")
    for h in store.history()[-10:]:
        click.echo(f"  {h.time:%Y-%m-%d %H:%M:%S} {h.from_state} -> {h.to_state}: {h.reason}")


def _simple(kind: str, help_text: str):
    @click.command(kind, help=help_text)
    @wait_option
    @config_option
    @telescope_option
    @click.pass_obj
    def command(obj: CliContext, wait_s: float) -> None:
        _send(obj, kind, None, wait_s)

    return command


for _kind, _help in (
    ("auto", "AUTO mode: the majordome runs the night (re-enters through startup)."),
    ("manual", "MANUAL mode: the running sequence is aborted, devices obey `pyros device`."),
    ("pause", "Start no new sequence (the running one finishes)."),
    ("resume", "Undo a pause."),
    ("abort", "Abort the running sequence (cause operator)."),
):
    majordome.add_command(_simple(_kind, _help))


@click.group()
def device() -> None:
    """Move devices by hand (MANUAL mode only; refused while UNSAFE unless --force)."""


@device.command()
@click.argument("ra_deg", type=float)
@click.argument("dec_deg", type=float)
@click.option("--altaz", is_flag=True, help="The two numbers are ALT AZ (degrees), not RA DEC.")
@force_option
@wait_option
@config_option
@telescope_option
@click.pass_obj
def slew(
    obj: CliContext, ra_deg: float, dec_deg: float, altaz: bool, force: bool, wait_s: float
) -> None:
    """Slew the mount to RA DEC (ICRS, degrees), or to ALT AZ with --altaz."""
    keys = ("alt_deg", "az_deg") if altaz else ("ra_deg", "dec_deg")
    _send(obj, "slew", {keys[0]: ra_deg, keys[1]: dec_deg, "force": force}, wait_s)


@device.command()
@click.argument("state", type=click.Choice(["on", "off"]))
@wait_option
@config_option
@telescope_option
@click.pass_obj
def lights(obj: CliContext, state: str, wait_s: float) -> None:
    """Switch the site lights through the PLC."""
    _send(obj, "lights", {"on": state == "on"}, wait_s)


@device.command()
@wait_option
@config_option
@telescope_option
@click.pass_obj
def park(obj: CliContext, wait_s: float) -> None:
    """Park the mount."""
    _send(obj, "park", None, wait_s)


@device.command()
@force_option
@wait_option
@config_option
@telescope_option
@click.pass_obj
def unpark(obj: CliContext, force: bool, wait_s: float) -> None:
    """Unpark the mount."""
    _send(obj, "unpark", {"force": force}, wait_s)


@device.command()
@click.argument("action", type=click.Choice(["open", "close"]))
@force_option
@wait_option
@config_option
@telescope_option
@click.pass_obj
def dome(obj: CliContext, action: str, force: bool, wait_s: float) -> None:
    """Open or close the dome shutter."""
    _send(obj, f"dome_{action}", {"force": force}, wait_s)


@device.command()
@click.option("--camera", required=True, help="vis or nir")
@click.option("--filter", "filter_name", default=None, help="Filter name (the wheel's).")
@click.option("--exposure", "exposure_s", type=float, required=True, help="Seconds.")
@click.option(
    "--type", "image_type", default="light", show_default=True, help="light, dark, bias or flat"
)
@wait_option
@config_option
@telescope_option
@click.pass_obj
def expose(
    obj: CliContext,
    camera: str,
    filter_name: str | None,
    exposure_s: float,
    image_type: str,
    wait_s: float,
) -> None:
    """Take one exposure, written as FITS with its Image row."""
    _send(
        obj,
        "expose",
        {
            "camera": camera,
            "filter": filter_name,
            "exposure_s": exposure_s,
            "image_type": image_type,
        },
        wait_s,
    )


@click.command()
@click.option(
    "--date",
    "night_date",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="Local date at dusk (default: tonight on the configured clock).",
)
@config_option
@telescope_option
@click.pass_obj
def night(obj: CliContext, night_date) -> None:
    """Tonight's sunset, dusk, dawn (the config's twilight), flats windows and Moon."""
    from zoneinfo import ZoneInfo

    from orchestrator.majordome.night import current_night, times_for

    runtime = obj.runtime("cli")
    config = runtime.config
    if night_date is not None:
        times = times_for(config, date(night_date.year, night_date.month, night_date.day))
    else:
        times = current_night(config, runtime.clock.now())
    tz = ZoneInfo(config.site.timezone)

    def both(instant) -> str:
        if instant is None:
            return "never"
        return f"{instant:%Y-%m-%d %H:%M:%S} UTC   {instant.astimezone(tz):%Y-%m-%d %H:%M:%S %Z}"

    c = config.calibrations
    click.echo(f"Night of {times.night} at {config.site.name} ({config.site.timezone})")
    click.echo(f"  sunset              {both(times.sunset)}")
    click.echo(f"  dusk ({times.twilight:<12}) {both(times.dusk)}")
    click.echo(f"  dawn ({times.twilight:<12}) {both(times.dawn)}")
    click.echo(f"  sunrise             {both(times.sunrise)}")
    for name, window in (("dusk flats", times.dusk_flats), ("dawn flats", times.dawn_flats)):
        click.echo(f"  {name} (Sun {c.sun_alt_max_deg:g}..{c.sun_alt_min_deg:g} deg)")
        click.echo(f"    from              {both(window[0] if window else None)}")
        click.echo(f"    to                {both(window[1] if window else None)}")
    click.echo(f"  Moon illumination   {times.moon_illumination * 100:.0f} %")


def register(cli: click.Group) -> None:
    cli.add_command(majordome)
    cli.add_command(device)
    cli.add_command(night)
