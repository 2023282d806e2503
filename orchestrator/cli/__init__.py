"""The `pyros` command line: one group, sub-commands in their own modules.

A `PyrosError` (bad config, bad input) is printed as one line and exits with code 2; a port
already in use, as one line with code 4 (the supervisor then stops instead of looping).
To add commands, write a module exposing `register(cli)` and list it in COMMAND_MODULES.
"""

from __future__ import annotations

import errno
import importlib
import sys
from pathlib import Path

import click

from orchestrator.errors import PyrosError

COMMAND_MODULES = (
    "orchestrator.cli.core",
    "orchestrator.cli.gateway",
    "orchestrator.cli.requests",
    "orchestrator.cli.planning",
    "orchestrator.cli.devices",
    "orchestrator.cli.alerts",
    "orchestrator.cli.pipeline",
    "orchestrator.cli.majordome",
    "orchestrator.cli.report",
    "orchestrator.cli.simulate",
)


class PyrosGroup(click.Group):
    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except PyrosError as exc:
            click.echo(f"pyros: {exc}", err=True)
            ctx.exit(2)
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            # One line, no traceback; code 4 tells `pyros start` not to restart it in a loop.
            name = ctx.invoked_subcommand or "pyros"
            click.echo(f"pyros {name}: {exc.strerror} ({exc}); another PyROS running?", err=True)
            ctx.exit(4)


@click.group(cls=PyrosGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="TOML configuration (default: ./pyros.toml if present, else the shipped default).",
)
@click.option("-v", "--verbose", count=True, help="More output: -v info, -vv debug.")
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None, verbose: int) -> None:
    """PyROS: observatory control software for a robotic telescope."""
    from orchestrator.cli.context import CliContext

    ctx.obj = CliContext(config_path=config_path, verbosity=verbose)


for _module in COMMAND_MODULES:
    importlib.import_module(_module).register(cli)


def main() -> None:
    sys.exit(cli.main(prog_name="pyros"))
