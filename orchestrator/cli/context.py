"""What every sub-command receives: the config path and verbosity, and a lazily built runtime."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import click

from orchestrator.config import load_config
from orchestrator.logs import setup_logging
from orchestrator.runtime import Runtime


@dataclass
class CliContext:
    config_path: Path | None
    verbosity: int
    _runtime: Runtime | None = field(default=None, repr=False)

    def runtime(self, process: str = "pyros") -> Runtime:
        """Load and validate the config (ConfigError: exit 2), set up logging, build a runtime."""
        if self._runtime is None:
            config = load_config(self.config_path)
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
