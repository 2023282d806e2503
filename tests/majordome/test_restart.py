"""kill -9 of the orchestrator mid-sequence: the next start resumes from the database. The
executing sequence is failed `interrupted` and re-planned (its frames kept), no sequence runs
twice at once, a command queued while it was down is taken once, and the majordome re-enters
through startup. The orchestrator is a real `pyros orchestrator` process."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from orchestrator.majordome.commands import queue
from orchestrator.model import Command, Image, MajordomeHistory, Sequence
from tests.device_peers import reset_alpaca
from tests.helpers import stop_process, wait_for
from tests.majordome.night_helpers import (
    alpaca_devices_toml,
    make_site,
    statuses,
    submit_sky_request,
)

pytestmark = pytest.mark.timeout(600)


def _orchestrator(config: Path, folder: Path) -> subprocess.Popen:
    log = (folder / "orchestrator.log").open("a")
    return subprocess.Popen(
        [sys.executable, "-m", "orchestrator.cli", "--config", str(config), "orchestrator"],
        cwd=folder,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def _executing(runtime) -> int:
    with runtime.sessions() as session:
        return session.scalar(
            select(func.count()).select_from(Sequence).where(Sequence.status == "executing")
        )


def test_kill_9_mid_sequence_loses_nothing_and_runs_nothing_twice(tmp_path, alpaca_simulator):
    reset_alpaca(alpaca_simulator)
    site = make_site(
        tmp_path,
        f"sqlite:///{tmp_path / 'pyros.db'}",
        alpaca_devices_toml(alpaca_simulator.address),
    )
    rt = site.runtime
    ids = [submit_sky_request(rt, f"star {i}", 80.0 - 5 * i, 120.0 * i, count=3) for i in range(2)]
    most_executing = []
    watching = threading.Event()

    def watch() -> None:  # no two sequences ever execute at once
        while not watching.is_set():
            most_executing.append(_executing(rt))
            watching.wait(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    first = _orchestrator(site.config_file(tmp_path), tmp_path)
    second = None
    try:
        killed = wait_for(
            lambda: next((i for i, s in statuses(rt, ids).items() if s == "executing"), None),
            120,
            0.05,
            what="a sequence executing",
        )
        wait_for(lambda: _frames(rt, killed) >= 1, 60, 0.05, what="a first frame")
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        frames_before = _frames(rt, killed)
        assert statuses(rt, [killed])[killed] == "executing"  # nobody cleaned up: killed
        command_id = queue(rt, "replan", issued_by="test")  # queued while it is down
        second = _orchestrator(site.config_file(tmp_path), tmp_path)
        wait_for(
            lambda: set(statuses(rt, ids).values()) == {"executed"},
            300,
            0.2,
            what="both sequences executed after the restart",
        )
        with rt.sessions() as session:
            command = session.get(Command, command_id)
            assert (command.status, command.taken is not None) == ("done", True)
            history = [
                (h.from_state, h.to_state, h.reason)
                for h in session.scalars(select(MajordomeHistory).order_by(MajordomeHistory.id))
            ]
            images = list(session.scalars(select(Image).where(Image.sequence_id == killed)))
        assert any(b == "startup" and r.startswith("process start (was ") for _, b, r in history)
        assert len(images) >= frames_before + 6  # the first run's frames are kept, then all
        assert all(Path(i.path).is_file() for i in images)
    finally:
        watching.set()
        watcher.join(5)
        for process in (first, second):
            if process is not None:
                stop_process(process)
        site.close()
    assert max(most_executing) == 1


def _frames(runtime, sequence_id: int) -> int:
    with runtime.sessions() as session:
        return session.scalar(
            select(func.count()).select_from(Image).where(Image.sequence_id == sequence_id)
        )
