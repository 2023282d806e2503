"""`pyros plc-sim` and `pyros gateway` run as a user runs them; `pyros status` reads the store."""

from __future__ import annotations

import subprocess
import sys

import requests

from orchestrator.config import default_config_text
from orchestrator.supervisor import embedded_processes
from tests.conftest import make_runtime
from tests.helpers import free_port, pyros, stop_process, stop_process_tree, wait_for
from tests.plc_gateway.conftest import _without_sections


def _start(*args: str, cwd) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "orchestrator.cli", *args],
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_gateway_and_simulator_processes(tmp_path):
    plc_port, alpaca_port = free_port(), free_port()
    text = _without_sections(default_config_text(), ("plc", "safety", "gateway", "simulators"))
    text += f"""
[plc]
address = "127.0.0.1:{plc_port}"
poll_period_s = 0.2
timeout_s = 0.5
[safety]
stale_after_s = 1.5
reopen_delay_s = 0.0
[simulators]
reopen_delay_s = 0.0  # replaces the safety one while simulated
[gateway]
port = {alpaca_port}
discovery_port = 0
store_period_s = 0.2
"""
    (tmp_path / "pyros.toml").write_text(text)
    assert pyros("init", cwd=tmp_path).returncode == 0
    gateway = _start("gateway", cwd=tmp_path)  # before the PLC: must wait for it
    sim = _start("plc-sim", cwd=tmp_path)
    url = f"http://127.0.0.1:{alpaca_port}/api/v1/safetymonitor/0"
    try:
        wait_for(
            lambda: requests.put(f"{url}/connected", data={"Connected": "true"}, timeout=2).ok,
            30,
            what="gateway up",
        )
        wait_for(
            lambda: requests.get(f"{url}/issafe", timeout=2).json()["Value"], 30, what="IsSafe true"
        )
        wait_for(
            lambda: "Safety    SAFE" in pyros("status", cwd=tmp_path).stdout, 30, what="status SAFE"
        )
        stop_process(sim)
        wait_for(
            lambda: requests.get(f"{url}/issafe", timeout=2).json()["Value"] is False,
            30,
            what="unsafe",
        )
        wait_for(
            lambda: "Safety    UNSAFE" in pyros("status", cwd=tmp_path).stdout,
            30,
            what="status UNSAFE",
        )
    finally:
        stop_process(sim)
        stop_process(gateway)
    assert gateway.returncode == 0


def test_bad_arguments_exit_2(tmp_path):
    result = pyros("gateway", "--plc", "nowhere", cwd=tmp_path)
    assert result.returncode == 2 and "--plc" in result.stderr
    bad = tmp_path / "bad.json"
    bad.write_text("[0]")
    result = pyros("plc-sim", "--scenario", str(bad), cwd=tmp_path)
    assert result.returncode == 2 and "length must be" in result.stderr


def test_start_lists_the_plc_simulator_only_when_enabled_and_always_the_gateway(tmp_path, clock):
    config = make_runtime(tmp_path, clock).config
    names = [spec.name for spec in embedded_processes(config)]
    assert "plc-sim" in names and "gateway" in names
    no_sims = make_runtime(tmp_path, clock, extra_toml="").config.model_copy(
        update={"simulators": config.simulators.model_copy(update={"enabled": False})}
    )
    names = [spec.name for spec in embedded_processes(no_sims)]
    assert "plc-sim" not in names and "gateway" in names


def test_pyros_start_runs_the_simulators_serves_safety_and_stores_it(tmp_path):
    """Safety turns SAFE only if `pyros start` ran the PLC simulator and the gateway."""
    plc_port, alpaca_port, web_port, sim_port = free_port(), free_port(), free_port(), free_port()
    # The embedded Alpaca simulator and the devices that use it move to a free port too.
    text = default_config_text().replace("127.0.0.1:11111", f"127.0.0.1:{sim_port}")
    text = _without_sections(text, ("plc", "safety", "gateway", "web", "simulators"))
    text += f"""
[plc]
address = "127.0.0.1:{plc_port}"
poll_period_s = 0.2
[safety]
reopen_delay_s = 0.0
[simulators]
enabled = true
alpaca_address = "127.0.0.1:{sim_port}"
reopen_delay_s = 0.0  # replaces the safety one while simulated
[gateway]
port = {alpaca_port}
discovery_port = 0
store_period_s = 0.2
[web]
port = {web_port}
"""
    (tmp_path / "pyros.toml").write_text(text)
    assert pyros("init", cwd=tmp_path).returncode == 0
    proc = _start("start", cwd=tmp_path)
    sim_url = f"http://127.0.0.1:{sim_port}/api/v1/telescope/0/name"
    url = f"http://127.0.0.1:{alpaca_port}/api/v1/safetymonitor/0"
    try:
        wait_for(
            lambda: requests.put(f"{url}/connected", data={"Connected": "true"}, timeout=2).ok,
            60,
            what="gateway",
        )
        wait_for(
            lambda: requests.get(f"{url}/issafe", timeout=2).json()["Value"], 30, what="IsSafe"
        )
        status = wait_for(
            lambda: (
                (out := pyros("status", cwd=tmp_path).stdout) and "weather_store" in out and out
            ),
            30,
            what="stored",
        )
        assert "Safety    SAFE" in status
        wait_for(lambda: requests.get(sim_url, timeout=2).ok, 60, what="the Alpaca simulator")
    finally:
        stop_process_tree(proc)
