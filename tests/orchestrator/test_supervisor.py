"""`pyros start`: child processes come up, a dead one is restarted, SIGINT stops them all."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request

import psutil
import pytest

from tests.helpers import free_port, pyros, stop_process_tree, wait_for


@pytest.fixture
def site(tmp_path):
    web_port = free_port()
    config = tmp_path / "pyros.toml"
    from orchestrator.config import default_config_text

    text = default_config_text().replace("port = 8000", f"port = {web_port}")
    text = text.replace("enabled = true ", "enabled = false")
    # The gateway always runs under `pyros start`: free ports, no discovery responder.
    text = text.replace("port = 11112", f"port = {free_port()}")
    text = text.replace("discovery_port = 32227", "discovery_port = 0")
    config.write_text(text)
    assert pyros("init", cwd=tmp_path).returncode == 0
    return tmp_path, web_port


def _status(port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status", timeout=2) as answer:
        return json.load(answer)


def _children(proc: subprocess.Popen) -> dict[str, psutil.Process]:
    kids = psutil.Process(proc.pid).children()
    return {" ".join(k.cmdline()).split("orchestrator.cli")[-1].split()[-1]: k for k in kids}


def test_start_supervises_restarts_and_stops_cleanly(site):
    folder, web_port = site
    proc = subprocess.Popen(
        [sys.executable, "-m", "orchestrator.cli", "start"],
        cwd=folder,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_for(lambda: _status(web_port)["database"]["ok"], 60, 0.2, what="web page")
        wait_for(
            lambda: any(j["name"] == "watchdog" for j in _status(web_port)["jobs"]),
            60,
            0.2,
            what="orchestrator heartbeat",
        )
        children = wait_for(lambda: len(_children(proc)) == 3 and _children(proc), 10)
        assert set(children) == {"orchestrator", "web", "gateway"}
        old_web = children["web"]
        old_web.kill()
        old_web.wait(10)
        wait_for(
            lambda: "web" in _children(proc) and _children(proc)["web"].pid != old_web.pid,
            30,
            what="web restarted",
        )
        wait_for(lambda: _status(web_port)["database"]["ok"], 30, 0.2, what="web back")
        kids = list(_children(proc).values())
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=30)
    finally:
        stop_process_tree(proc)
    assert proc.returncode == 0, output
    assert "all processes stopped" in output
    assert "web exited" in output  # the death was logged
    assert not any(k.is_running() and k.status() != psutil.STATUS_ZOMBIE for k in kids)
    log = (folder / "var" / "logs" / "start.log").read_text()
    assert "restarting" in log
    assert os.path.exists(folder / "var" / "logs" / "orchestrator.log")
