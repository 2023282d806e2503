"""A complete `pyros start` site on free ports (every process of the embedded default)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from orchestrator.config import default_config_text
from tests.helpers import free_port, pyros
from tests.plc_gateway.conftest import make_gateway  # noqa: F401 - a fixture of these tests


def site_config(folder: Path, simulators: bool = True) -> dict[str, int]:
    """Write folder/pyros.toml with every server on a free port; returns the ports by name."""
    ports = {name: free_port() for name in ("web", "gateway", "plc", "alpaca")}
    text = default_config_text()
    text = text.replace("port = 8000", f"port = {ports['web']}")
    text = text.replace("port = 11112", f"port = {ports['gateway']}")
    text = text.replace("discovery_port = 32227", "discovery_port = 0")
    text = text.replace("127.0.0.1:5010", f"127.0.0.1:{ports['plc']}")
    text = text.replace("127.0.0.1:11111", f"127.0.0.1:{ports['alpaca']}")
    if not simulators:
        text = text.replace("enabled = true ", "enabled = false")
    (folder / "pyros.toml").write_text(text)
    return ports


@pytest.fixture
def site(tmp_path):
    ports = site_config(tmp_path)
    assert pyros("init", cwd=tmp_path).returncode == 0
    return tmp_path, ports


def start(folder: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "orchestrator.cli", "start"],
        cwd=folder,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def children(proc_pid: int) -> dict[str, psutil.Process]:
    """The supervisor's children by sub-command name (alpaca-simulator: it exec'd itself)."""
    out = {}
    for kid in psutil.Process(proc_pid).children():
        try:
            cmd = " ".join(kid.cmdline())
        except psutil.Error:
            continue
        name = cmd.split("orchestrator.cli")[-1].split()[-1] if "orchestrator.cli" in cmd else ""
        out["alpaca-simulator" if name in ("", "simulate") else name] = kid
    return out


def lease_pid(folder: Path) -> int | None:
    """The pid holding the orchestrator lease of the site's database, if any."""
    from sqlalchemy import select

    from orchestrator import db
    from orchestrator.config import load_config
    from orchestrator.model import ProcessLease

    engine = db.make_engine(load_config(folder / "pyros.toml").database.url)
    try:
        with db.make_session_factory(engine)() as session:
            row = session.scalar(select(ProcessLease))
            return row.pid if row else None
    finally:
        engine.dispose()


def alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def kill_all(processes) -> None:
    """Clean-up: kill and reap every process given (the test's own children only)."""
    for p in processes:
        try:
            p.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(list(processes), timeout=10)
