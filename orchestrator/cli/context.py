"""What every sub-command receives: the config path and verbosity, and a lazily built runtime."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import click

from orchestrator.config import load_config, with_telescope
from orchestrator.logs import setup_logging
from orchestrator.runtime import Runtime


@dataclass
class CliContext:
    config_path: Path | None
    verbosity: int
    telescope: str | None = None  # `--telescope NAME`: overrides `[telescope] name`
    _runtime: Runtime | None = field(default=None, repr=False)

    def runtime(self, process: str = "pyros") -> Runtime:
        """Load and validate the config (ConfigError: exit 2), set up logging, build a runtime."""
        if self._runtime is None:
            config = load_config(self.config_path)
            if self.telescope is not None:
                config = with_telescope(config, self.telescope)
            setup_logging(self.verbosity, config.folders.logs, process)
            self._runtime = Runtime(config)
        return self._runtime


def _override_config(ctx: click.Context, _param: click.Parameter, value: Path | None) -> None:
    if value is not None:
        ctx.find_object(CliContext).config_path = value


#: `--config F` on a sub-command: the same as `pyros --config F` (issue texts name it there).
config_option = click.option(
    "--config",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    expose_value=False,
    callback=_override_config,
    help="TOML configuration (same as `pyros --config`).",
)


def _override_telescope(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value is not None:
        ctx.find_object(CliContext).telescope = value


#: `--telescope NAME` on `start`, `orchestrator` and the operator commands: this telescope of a
#: network.
telescope_option = click.option(
    "--telescope",
    default=None,
    expose_value=False,
    callback=_override_telescope,
    help="This telescope's name in a network sharing one database (overrides [telescope] name).",
)
