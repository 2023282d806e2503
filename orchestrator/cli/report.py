"""`pyros report [NIGHT] [--out DIR]`: (re)build one night's report, HTML + JSON."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import click
from sqlalchemy.exc import OperationalError

from orchestrator import db
from orchestrator.cli.context import CliContext, config_option
from orchestrator.errors import InputError

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_night(text: str) -> date:
    """NIGHT as YYYY-MM-DD (the local date at dusk); InputError naming NIGHT otherwise."""
    if not _DATE.fullmatch(text):
        raise InputError("NIGHT", f"must be a date YYYY-MM-DD (got {text[:40]!r})")
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise InputError("NIGHT", f"{exc} (got {text!r})") from None


@click.command("report")
@click.argument("night_text", metavar="[NIGHT]", required=False)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Folder of the report (default: the config's folders.reports).",
)
@config_option
@click.pass_obj
def report(obj: CliContext, night_text: str | None, out_dir: Path | None) -> None:
    """Write the night report of NIGHT (YYYY-MM-DD, default: last night): HTML and JSON."""
    from orchestrator.majordome.night import current_night
    from orchestrator.report import last_night, write_night_report

    night = parse_night(night_text) if night_text is not None else None
    runtime = obj.runtime("cli")
    try:
        initialised = db.current_revision(runtime.engine) is not None
    except OperationalError as exc:
        raise click.ClickException(f"database unreachable: {exc.orig}") from None
    if not initialised:  # exit 1, as `pyros status`: nothing to report on
        raise click.ClickException("database not initialised: run `pyros init`")
    now = runtime.clock.now()
    if night is None:
        night = last_night(runtime.config, now)
    elif night > current_night(runtime.config, now).night:
        raise InputError("NIGHT", f"{night} has not begun yet")
    html_path, json_path = write_night_report(
        runtime, night, out_dir if out_dir is not None else runtime.config.folders.reports
    )
    click.echo(f"night report of {night}: {html_path}")
    click.echo(f"facts: {json_path}")


def register(cli: click.Group) -> None:
    cli.add_command(report)
