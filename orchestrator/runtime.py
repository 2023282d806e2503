"""The runtime every process is built from: validated config, the clock, the database.

The CLI makes one `Runtime` and hands it (or its parts) to the jobs, the gateway and the web;
nothing else reads files or environment variables (dependency injection, not globals).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import astropy.utils.iers
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from orchestrator import db
from orchestrator.clock import Clock, clock_from_config
from orchestrator.config import Config


def configure_astropy_offline() -> None:
    """Observatories are often offline: never download IERS tables at run time."""
    astropy.utils.iers.conf.auto_download = False
    astropy.utils.iers.conf.auto_max_age = None


@dataclass
class Runtime:
    config: Config
    clock: Clock = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        configure_astropy_offline()
        if self.clock is None:
            c = self.config.clock
            self.clock = clock_from_config(c.start, c.speed, c.real_start, c.real_start_file)

    @cached_property
    def engine(self) -> Engine:
        return db.make_engine(self.config.database.url)

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        return db.make_session_factory(self.engine)
