"""Where a simulated night sits on the clock, and the configuration its processes share.

`place_night()` puts the run's start shortly before the dusk flats (or dusk) of the chosen night
and its end after dawn; `run_config()` derives, from the user's configuration, the one every
process of the run reads: one shared accelerated clock (`clock.real_start`), its own folder and
SQLite database, free local ports, the devices behind the fault proxy, and the periods that are
real seconds (PLC poll, majordome tick, dome following) set so that they keep their meaning in
night time at speed N.
"""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from orchestrator.config import Config, default_config_text, parse_config
from orchestrator.majordome.night import NightTimes, current_night, times_for

LEAD = timedelta(minutes=10)  # the run starts this long before the dusk flats (or dusk)
TAIL = timedelta(minutes=10)  # ... and may end this long after the dawn flats (or dawn)
HARD_END_AFTER_SUNRISE = timedelta(hours=2)  # whatever the majordome still does
DEFAULT_SPEED = 100.0  # a 13-hour winter night in about 8 minutes
READY_TIMEOUT_S = 300.0  # wall seconds the processes get to be ready before the night starts


@dataclass(frozen=True)
class NightPlacement:
    night: date
    times: NightTimes
    start: datetime  # the clock's start
    soft_end: datetime  # after this, the run ends once the majordome is back to day
    hard_end: datetime  # the run ends here whatever happens


def place_night(config: Config, night: date | None, now: datetime | None = None) -> NightPlacement:
    """The chosen night (default: tonight at the site); ValueError when it has no night."""
    if night is None:
        night = current_night(config, now or datetime.now(UTC)).night
    times = times_for(config, night)
    if times.dusk is None or times.dawn is None:
        raise ValueError(
            f"the Sun does not reach the {config.site.twilight} twilight on {night} at "
            f"latitude {config.site.latitude_deg:g}: no night to simulate"
        )
    first = times.dusk_flats[0] if times.dusk_flats else times.dusk
    last = times.dawn_flats[1] if times.dawn_flats else times.dawn
    sunrise = times.sunrise or last
    return NightPlacement(night, times, first - LEAD, last + TAIL, sunrise + HARD_END_AFTER_SUNRISE)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class RunPorts:
    plc: int
    gateway: int
    alpaca: int  # alpaca-simulators itself
    proxy: int  # the fault proxy in front of it: what the devices are configured with

    @classmethod
    def free(cls) -> RunPorts:
        return cls(free_port(), free_port(), free_port(), free_port())


def overrides(
    config: Config,
    placement: NightPlacement,
    speed: float,
    real_start_file: Path,
    folder: Path,
    ports: RunPorts,
) -> dict[str, Any]:
    """The keys of the run's configuration that differ from the user's."""
    poll_s = max(config.plc.poll_period_s, 0.1 * speed)  # ~10 polls per wall second at most
    tick_s = max(0.05, min(config.majordome.tick_period_s, 20.0 / speed))
    devices = {}
    for role, dev in config.devices.configured().items():
        if dev.adapter == "alpaca":
            devices[role] = {"address": f"127.0.0.1:{ports.proxy}"}
    return {
        "clock": {
            "start": placement.start,
            "speed": speed,
            "real_start_file": str(real_start_file),
        },
        "database": {"url": f"sqlite:///{folder / 'pyros.db'}"},
        "folders": {
            "data": str(folder),
            "images": str(folder / "images"),
            "logs": str(folder / "logs"),
            "voevents": str(folder / "voevents"),
        },
        "plc": {"address": f"127.0.0.1:{ports.plc}", "poll_period_s": poll_s},
        "safety": {
            "stale_after_s": max(config.safety.stale_after_s, 6 * poll_s),
            "reopen_delay_s": max(config.safety.reopen_delay_s, 3 * poll_s),
        },
        "simulators": {
            "enabled": True,
            "alpaca_address": f"127.0.0.1:{ports.alpaca}",
            "devices_follow_clock": True,
            "reopen_delay_s": max(config.safety.reopen_delay_s, 3 * poll_s),
        },
        "gateway": {
            "host": "127.0.0.1",
            "port": ports.gateway,
            "discovery_port": 0,
            "store_period_s": max(config.gateway.store_period_s, poll_s),
        },
        # reconnection back-off is real seconds: at ×N, 120 s would be hours of night
        "majordome": {
            "tick_period_s": tick_s,
            "reconnect_max_s": min(config.majordome.reconnect_max_s, 5.0),
            "reconnect_min_s": min(config.majordome.reconnect_min_s, 0.5),
        },
        "observer": {
            "dome_follow_period_s": max(0.5, config.observer.dome_follow_period_s / speed)
        },
        # a simulated night listens to its own folder only, never to real brokers
        "alerts": {"vtp_brokers": [], "kafka": {"enabled": False}},
        "devices": devices,
    }


def run_config(config: Config, changes: dict[str, Any], folder: Path) -> tuple[Config, Path]:
    """Write the run's configuration file in `folder` and return it validated."""
    data = config.model_dump(mode="json", exclude={"source", "automation"})
    for section, values in changes.items():
        if isinstance(values, dict) and isinstance(data.get(section), dict):
            _merge(data[section], values)
        else:
            data[section] = values
    folder.mkdir(parents=True, exist_ok=True)
    # roles of the shipped default this site does not have stay removed (`ROLE = false`)
    for role in parse_config(default_config_text(), folder).devices.configured():
        if data["devices"].get(role) is None:
            data["devices"][role] = False
    text = to_toml(data)
    path = folder / "pyros.toml"
    path.write_text(
        "# The configuration of one simulated night, written by `pyros simulate`.\n" + text
    )
    return parse_config(path.read_text(), folder, path), path


def _merge(target: dict, changes: dict) -> None:
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = value


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {_value(v)}" for k, v in value.items()) + "}"
    return json.dumps(str(value))  # a TOML basic string: JSON's escapes are TOML's


def to_toml(data: dict[str, Any], prefix: str = "") -> str:
    """A nested dict as TOML (None values left out: the default applies)."""
    lines, tables = [], []
    for key, value in data.items():
        if value is None:
            continue
        name = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict) and key != "plate_scale_arcsec_px":
            tables.append(f"\n[{name}]\n" + to_toml(value, name))
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            for item in value:
                tables.append(f"\n[[{name}]]\n" + to_toml(item, name))
        else:
            lines.append(f"{json.dumps(key)} = {_value(value)}")
    return "\n".join(lines) + ("\n" if lines else "") + "".join(tables)
