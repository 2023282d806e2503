"""The CLI of the majordome: bad [majordome]/[[automation]] config exits 2 naming the key,
`pyros night` prints tonight's times in UTC and site time, `pyros devices check` refuses to
move while the safety monitor cannot be reached, and `pyros majordome` queues commands."""

from __future__ import annotations

from click.testing import CliRunner

from orchestrator.cli import cli
from orchestrator.config import default_config_text
from tests.helpers import free_port, pyros
from tests.plc_gateway.conftest import _without_sections


def _run(tmp_path, extra: str, *args: str):
    path = tmp_path / "pyros.toml"
    path.write_text(_without_sections(default_config_text(), ("majordome",)) + extra)
    return CliRunner().invoke(cli, ["--config", str(path), *args])


def test_bad_majordome_and_automation_config_exit_2_naming_the_key(tmp_path):
    cases = {
        '[[automation]]\ncron = "61 * * * *"\naction = "darks"\n': "automation.0.cron",
        '[[automation]]\ncron = "0 8 * * *"\naction = "rm -rf"\n': "automation.0.action",
        "[majordome]\nreconnect_min_s = 10\nreconnect_max_s = 5\n": "majordome",
        '[majordome]\nrequired_roles = ["telescope"]\n': "majordome.required_roles",
    }
    for extra, key in cases.items():
        result = _run(tmp_path, extra, "config", "--check")
        assert result.exit_code == 2, extra
        assert key in result.output, (extra, result.output)
    result = _run(
        tmp_path, "[majordome]\nreconnect_min_s = 10\nreconnect_max_s = 5\n", "config", "--check"
    )
    assert "reconnect_max_s must be >= reconnect_min_s" in result.output
    # the flats window is [calibrations]' (reversed altitudes: exit 2 naming the key)
    path = tmp_path / "pyros.toml"
    text = _without_sections(default_config_text(), ("majordome",))
    path.write_text(text.replace("sun_alt_min_deg = -10.0", "sun_alt_min_deg = 0.0"))
    flats = CliRunner().invoke(cli, ["--config", str(path), "config", "--check"])
    assert flats.exit_code == 2 and "calibrations.sun_alt_min_deg" in flats.output
    ok = _run(
        tmp_path, '[[automation]]\ncron = "30 7 * * *"\naction = "darks"\n', "config", "--check"
    )
    assert ok.exit_code == 0, ok.output


def test_night_prints_sunset_twilights_flats_and_moon(tmp_path):
    result = _run(tmp_path, "", "night", "--date", "2026-11-24")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Night of 2026-11-24" in out
    # sunset at San Pedro Martir on 24 Nov 2026: 00:40 UTC = 16:40 PST
    assert "2026-11-25 00:40" in out and "16:40" in out and "PST" in out
    assert "dusk (nautical" in out and "dawn flats" in out and "Moon illumination" in out


def test_devices_check_refuses_to_move_while_the_gateway_is_unreachable(tmp_path):
    text = default_config_text().replace("port = 11112", f"port = {free_port()}")
    (tmp_path / "pyros.toml").write_text(text)
    assert pyros("init", cwd=tmp_path).returncode == 0
    result = pyros("devices", "check", cwd=tmp_path, timeout=60)
    assert result.returncode == 1
    assert "refused: safety is UNSAFE" in result.stderr
    assert "safety monitor unreachable" in result.stderr and "--force" in result.stderr
    assert "PASS" not in result.stdout  # nothing ran


def test_majordome_commands_are_queued_for_the_orchestrator(tmp_path):
    (tmp_path / "pyros.toml").write_text(default_config_text())
    assert pyros("init", cwd=tmp_path).returncode == 0
    result = pyros("majordome", "pause", "--wait", "0", cwd=tmp_path)
    assert result.returncode == 0 and "command 1 (pause) queued" in result.stdout
    result = pyros("majordome", "status", cwd=tmp_path)
    assert result.returncode == 0 and "majordome startup (AUTO)" in result.stdout
