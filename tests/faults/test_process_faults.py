"""Fault suite, processes (issue 18): kill -9 of `pyros start` and of each of its children.

What must hold: no process survives its supervisor, each killed child comes back without a
human, at most one orchestrator runs on the database, a second `pyros start` says in one line
which port is taken and by whom, and stops.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys

import psutil
import pytest

from tests.faults.conftest import alive, children, kill_all, lease_pid, site_config, start
from tests.helpers import stop_process_tree, wait_for

# What `pyros start` runs in the embedded default (orchestrator.supervisor.embedded_processes).
CHILDREN = {"orchestrator", "web", "plc-sim", "alpaca-simulator", "gateway", "pipeline"}


def _up(proc: subprocess.Popen, folder) -> dict[str, psutil.Process]:
    kids = wait_for(lambda: set(children(proc.pid)) == CHILDREN and children(proc.pid), 90, 0.2,
                    what="every child")  # fmt: skip
    wait_for(lambda: lease_pid(folder) == kids["orchestrator"].pid, 60, 0.2, what="the lease")
    return kids


def _orchestrators(folder) -> list[psutil.Process]:
    """`pyros orchestrator` processes of this site (other test runs share the machine)."""
    out = []
    for p in psutil.process_iter(["cmdline", "cwd"]):
        cmd = p.info["cmdline"] or []
        if "orchestrator.cli" in cmd and cmd[-1] == "orchestrator" and p.info["cwd"] == str(folder):
            out.append(p)
    return out


def test_kill_9_of_the_supervisor_takes_its_children_down_and_a_restart_recovers(site):
    folder, ports = site
    proc = start(folder)
    kids: dict[str, psutil.Process] = {}
    try:
        kids = _up(proc, folder)
        proc.kill()  # kill -9 of `pyros start`
        proc.wait(10)
        _gone, left = psutil.wait_procs(list(kids.values()), timeout=30)
        assert not [k for k in left if alive(k)], f"orphans: {left}"
        again = start(folder)  # same ports, same database: comes up without a human
        try:
            new = _up(again, folder)
            assert new["orchestrator"].pid != kids["orchestrator"].pid
        finally:
            stop_process_tree(again)
        output = again.stdout.read()
        assert "Address already in use" not in output and "Traceback" not in output, output
    finally:
        stop_process_tree(proc)
        kill_all(kids.values())


def test_second_start_refuses_in_one_line_naming_the_port(site):
    folder, ports = site
    first = start(folder)
    try:
        _up(first, folder)
        second = subprocess.run(
            [sys.executable, "-m", "orchestrator.cli", "start"],
            cwd=folder, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert second.returncode == 1
        out = second.stdout + second.stderr
        assert "Traceback" not in out
        lines = [line for line in out.splitlines() if "already in use" in line]
        assert lines and str(ports["web"]) in out and "pid" in lines[0]
        assert len(_orchestrators(folder)) == 1  # never two orchestrators on one database
    finally:
        stop_process_tree(first)


def test_second_orchestrator_on_one_database_is_refused_naming_the_holder(site):
    folder, _ = site
    holder = subprocess.Popen(
        [sys.executable, "-m", "orchestrator.cli", "orchestrator"], cwd=folder,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for(lambda: lease_pid(folder) == holder.pid, 60, 0.2, what="the first one's lease")
        second = subprocess.run(
            [sys.executable, "-m", "orchestrator.cli", "orchestrator"],
            cwd=folder, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert second.returncode == 3, second.stdout + second.stderr
        line = [x for x in second.stdout.splitlines() if "another orchestrator" in x]
        assert line and f"pid {holder.pid}" in line[0] and "since" in line[0]
        assert "Traceback" not in second.stdout + second.stderr
        holder.send_signal(signal.SIGTERM)
        holder.wait(30)
        assert lease_pid(folder) is None  # released at the clean stop
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()


@pytest.mark.parametrize("victim", sorted(CHILDREN))
def test_kill_9_of_a_child_is_restarted_without_a_human(site, victim):
    folder, _ = site
    proc = start(folder)
    try:
        kids = _up(proc, folder)
        kids[victim].kill()
        kids[victim].wait(10)
        new = wait_for(
            lambda: (k := children(proc.pid)).get(victim) and k[victim].pid != kids[victim].pid
            and k,
            60, 0.2, what=f"{victim} restarted",
        )  # fmt: skip
        # The orchestrator's lease passes to the new one at once (the old pid is dead).
        wait_for(lambda: lease_pid(folder) == new["orchestrator"].pid, 60, 0.2, what="lease")
        assert len(_orchestrators(folder)) == 1
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0 and "all processes stopped" in output
        assert not [k for k in new.values() if alive(k)]
    finally:
        stop_process_tree(proc)


@pytest.mark.parametrize("command", [("gateway",), ("web",), ("plc-sim",)])
def test_a_server_on_a_taken_port_says_so_in_one_line(tmp_path, command):
    ports = site_config(tmp_path)
    key = {"gateway": "gateway", "web": "web", "plc-sim": "plc"}[command[0]]
    with socket.socket() as taken:
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        taken.bind(("127.0.0.1", ports[key]))
        taken.listen()
        result = subprocess.run(
            [sys.executable, "-m", "orchestrator.cli", *command],
            cwd=tmp_path, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    out = result.stdout + result.stderr
    assert result.returncode == 4, out
    assert "Traceback" not in out and "already in use" in out.lower()
