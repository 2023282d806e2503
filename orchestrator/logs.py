"""Logging set-up for every PyROS process: console (quiet by default) and a rotating file.

Called once by the CLI; modules only do `logging.getLogger(__name__)`.
"""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

FORMAT = "%(asctime)s %(levelname)-7s %(processName)s %(name)s: %(message)s"


def setup_logging(verbosity: int, log_dir: Path | None, process: str = "pyros") -> None:
    """verbosity 0 = warnings on the console, 1 = info, 2+ = debug. The file always gets info+."""
    console_level = {0: logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG)
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.setLevel(min(console_level, logging.INFO))

    console = logging.StreamHandler()
    console.setLevel(console_level)
    console.setFormatter(logging.Formatter(FORMAT, "%H:%M:%S"))
    root.addHandler(console)

    if log_dir is not None:
        log_dir.mkdir(parents=True, exist_ok=True)
        file_handler = logging.handlers.RotatingFileHandler(
            log_dir / f"{process}.log", maxBytes=5_000_000, backupCount=5, encoding="utf-8",
            delay=True,  # a command that logs nothing leaves no empty file behind
        )
        file_handler.setLevel(logging.DEBUG if verbosity >= 2 else logging.INFO)
        file_handler.setFormatter(logging.Formatter(FORMAT))
        root.addHandler(file_handler)
    # Third-party chatter stays out of the console unless asked for.
    for noisy in ("apscheduler", "waitress", "werkzeug", "alembic", "astropy"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if verbosity >= 2 else logging.WARNING)
