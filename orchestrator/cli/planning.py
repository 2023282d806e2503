"""Planner commands: `pyros plan` (offline JSON in, JSON out) and `pyros replan` (database)."""

from __future__ import annotations

from pathlib import Path

import click

from orchestrator.cli.context import CliContext, config_option


@click.command("plan")
@click.option(
    "--input",
    "input_path",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="sequences.json: {night, [site], sequences: [...]} (see README).",
)
@click.option(
    "--output",
    "output_path",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="Where to write schedule.json (written only if planning succeeds).",
)
@config_option
@click.pass_obj
def plan_cmd(obj: CliContext, input_path: Path, output_path: Path) -> None:
    """Plan one night offline from a JSON file; needs no database."""
    from orchestrator.config import load_config
    from orchestrator.planner.io import plan_input, read_input, write_output
    from orchestrator.planner.night import configure_astropy_offline

    configure_astropy_offline()
    config = load_config(obj.config_path)
    planning = read_input(input_path)
    result = plan_input(planning, config)
    write_output(output_path, result)
    click.echo(
        f"night {result.night}: {len(result.entries)} scheduled, "
        f"{len(result.unscheduled)} unscheduled, score {result.score:.3f}"
    )


@click.command("replan")
@click.option("--trigger", default="manual", help="Why this re-plan (stored with the schedule).")
@click.pass_obj
def replan_cmd(obj: CliContext, trigger: str) -> None:
    """Re-plan tonight from the database's sequences and store a new Schedule."""
    from orchestrator.planner.service import replan

    runtime = obj.runtime("replan")
    outcome = replan(runtime, trigger=trigger)
    click.echo(
        f"schedule {outcome.schedule_id} for night {outcome.result.night}: "
        f"{len(outcome.result.entries)} entries, {len(outcome.result.unscheduled)} unscheduled, "
        f"score {outcome.result.score:.3f}"
    )


def register(cli: click.Group) -> None:
    cli.add_command(plan_cmd)
    cli.add_command(replan_cmd)
