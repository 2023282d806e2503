"""The embedded Alpaca simulator: `pyros start`'s process list has it when simulators are enabled
(tests/plc_gateway/test_cli.py runs `pyros start` and asks it), `pyros devices simulate` serves
the configured site offline (synthetic star catalogue generated in the data folder)."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request

import pytest

from orchestrator.config import default_config_text, parse_config
from orchestrator.supervisor import embedded_processes
from tests.helpers import free_port, stop_process, wait_for


def test_start_lists_the_alpaca_simulator_only_when_simulators_are_enabled(tmp_path):
    enabled = parse_config(default_config_text(), tmp_path)
    disabled = parse_config(
        default_config_text().replace("enabled = true ", "enabled = false"), tmp_path
    )
    spec = {s.name: s.argv for s in embedded_processes(enabled)}
    assert spec["alpaca-simulator"] == ("devices", "simulate")
    assert "alpaca-simulator" not in {s.name for s in embedded_processes(disabled)}


def _value(address: str, path: str):
    with urllib.request.urlopen(f"http://{address}/api/v1/{path}", timeout=2) as answer:
        return json.load(answer)["Value"]


def test_simulate_serves_the_configured_site(tmp_path):
    port = free_port()
    text = default_config_text().replace("127.0.0.1:11111", f"127.0.0.1:{port}")
    text = text.replace("latitude_deg = 31.0442", "latitude_deg = 30.5")
    (tmp_path / "pyros.toml").write_text(text)
    process = subprocess.Popen(
        [sys.executable, "-m", "orchestrator.cli", "devices", "simulate"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        address = f"127.0.0.1:{port}"
        wait_for(lambda: _value(address, "telescope/0/name"), 30, 0.1, what="simulator")
        assert _value(address, "telescope/0/sitelatitude") == 30.5
        assert _value(address, "camera/1/cameraxsize") == 640  # the NIR camera
        assert (tmp_path / "var" / "gaia_sources.db").stat().st_size > 100_000
        log = tmp_path / "var" / "logs" / "alpaca-simulator.log"  # its request log goes there
        wait_for(lambda: "/api/v1/camera/1/cameraxsize" in log.read_text(), 10, what="log")
        process.terminate()  # as the supervisor stops it: the simulator itself gets the signal
        process.wait(10)
        with pytest.raises(OSError):
            _value(address, "telescope/0/name")
    finally:
        stop_process(process)
