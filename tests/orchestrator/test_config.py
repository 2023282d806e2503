"""Configuration: the shipped default is valid; every bad value names its key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from orchestrator.config import DEVICE_ROLES, default_config_text, load_config, parse_config
from orchestrator.errors import ConfigError

SITE = '[site]\nname = "x"\nlatitude_deg = 10\nlongitude_deg = 20\nelevation_m = 100\n'


def test_shipped_default_describes_colibri(tmp_path):
    config = parse_config(default_config_text(), tmp_path)
    assert (config.site.latitude_deg, config.site.longitude_deg) == (31.0442, -115.4637)
    assert config.site.elevation_m == 2790
    assert config.database.url == f"sqlite:///{tmp_path / 'var' / 'pyros.db'}"
    assert config.folders.images == tmp_path / "var" / "images"
    assert set(config.devices.configured()) <= set(DEVICE_ROLES)
    assert config.devices.mount.adapter == "alpaca"


def test_local_pyros_toml_is_picked_up_and_paths_follow_the_file(tmp_path):
    (tmp_path / "pyros.toml").write_text(SITE + '[folders]\nimages = "img"\n')
    config = load_config(cwd=tmp_path)
    assert config.site.name == "x"
    assert config.folders.images == tmp_path / "img"
    assert config.source == tmp_path / "pyros.toml"


@pytest.mark.parametrize(
    ("toml", "key", "reason"),
    [
        (SITE.replace("latitude_deg = 10", "latitude_deg = 91"), "site.latitude_deg", "90"),
        ("[devices]\nmount = 3\n", "devices.mount", "valid dictionary"),
        (SITE + 'timezone = "Mars/Olympus"\n', "site.timezone", "unknown IANA timezone"),
        (SITE + '[plc]\naddress = "localhost"\n', "plc.address", "HOST:PORT"),
        (SITE + "[plc]\npoll_period_s = 0\n", "plc.poll_period_s", "greater than 0"),
        (SITE + "[safety]\nwind_speed_reopen_m_s = 20\n", "safety", "wind_speed_reopen_m_s"),
        (SITE + '[database]\nurl = "mysql://x"\n', "database.url", "sqlite"),
        (
            SITE + '[devices.mount]\nadapter = "ascom"\naddress = "h:1"\n',
            "devices.mount.adapter",
            "'alpaca' or 'indi'",
        ),
        (
            SITE + '[devices.telescope]\nadapter = "alpaca"\naddress = "h:1"\n',
            "devices.telescope",
            "unknown key",
        ),
        (
            SITE + '[devices.dome]\nadapter = "indi"\naddress = "h:7624"\n',
            "devices.dome",
            "device_name is required",
        ),
        (SITE + "[sitee]\n", "sitee", "unknown key"),
        (SITE + "[clock]\nstart = 2026-01-01T00:00:00\n", "clock.start", "timezone"),
        ("[site\n", "config", "invalid TOML"),
    ],
)
def test_bad_values_name_the_key_and_the_reason(tmp_path, toml, key, reason):
    with pytest.raises(ConfigError) as excinfo:
        parse_config(toml, tmp_path)
    assert excinfo.value.key == key
    assert reason in excinfo.value.reason
    assert "\n" not in str(excinfo.value)


def test_cli_prints_one_line_and_exits_2_on_a_bad_config(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(SITE.replace("elevation_m = 100", "elevation_m = 'high'"))
    result = subprocess.run(
        [sys.executable, "-m", "orchestrator.cli", "--config", str(bad), "status"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("pyros: config error: site.elevation_m:")
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "var").exists()  # nothing was created


def test_a_two_line_pyros_toml_changes_only_what_it_names(tmp_path):
    (tmp_path / "pyros.toml").write_text("[overheads]\nslew_s = 42\n")
    config = load_config(cwd=tmp_path)
    default = parse_config(default_config_text(), tmp_path)
    assert config.overheads.slew_s == 42
    assert config.site == default.site
    assert config.devices.configured().keys() == default.devices.configured().keys()
    assert config.overheads.readout_s == default.overheads.readout_s


def test_overlay_of_one_device_keeps_the_others_and_false_removes_a_role(tmp_path):
    (tmp_path / "pyros.toml").write_text(
        '[devices.mount]\naddress = "10.0.0.7:11111"\n\n[devices]\nfocuser = false\n'
    )
    config = load_config(cwd=tmp_path)
    assert config.devices.mount.address == "10.0.0.7:11111"
    assert config.devices.mount.adapter == "alpaca"  # from the default
    assert config.devices.dome is not None
    assert config.devices.focuser is None


def test_overlay_is_validated_as_strictly_as_a_whole_file(tmp_path):
    (tmp_path / "pyros.toml").write_text('[devices.dome]\nadapter = "indi"\n')
    with pytest.raises(ConfigError) as excinfo:
        load_config(cwd=tmp_path)
    assert excinfo.value.key == "devices.dome"
    assert "device_name is required" in excinfo.value.reason


def test_missing_config_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(Path(tmp_path / "absent.toml"))


def test_simulated_site_reopens_after_a_short_delay_a_real_one_after_the_safety_delay(tmp_path):
    simulated = parse_config(default_config_text(), tmp_path)
    assert simulated.simulators.enabled
    assert simulated.safety.reopen_delay_s == simulated.simulators.reopen_delay_s == 30
    real = parse_config("[simulators]\nenabled = false\n", tmp_path)
    assert real.safety.reopen_delay_s == 900  # the conservative rule of a real site
