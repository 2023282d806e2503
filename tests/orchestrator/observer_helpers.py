"""Shared by the observer tests: a site on the real device peers, requests pointed at the sky.

The runtime runs on the real clock (the simulators' sky is the real one); the example request
is aimed near the zenith, inside the simulator's synthetic star catalogue.
"""

from __future__ import annotations

import subprocess
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from orchestrator import db
from orchestrator.bootstrap import init_site
from orchestrator.clock import Clock, RealClock
from orchestrator.config import default_config_text, parse_config
from orchestrator.devices.coords import from_altaz
from orchestrator.devices.registry import Devices, build_devices
from orchestrator.model import Sequence, User
from orchestrator.requests.builder import RequestBuilder
from orchestrator.requests.xml_io import submit_xml
from orchestrator.runtime import Runtime
from orchestrator.users import add_user
from tests.device_peers import config_text
from tests.helpers import free_port, stop_process, wait_for
from tests.orchestrator.request_helpers import ADMIN_PASSWORD, PASSWORD, example

FAST_OBSERVER = {
    # short deadlines so that a hung device fails a test in seconds, not minutes
    "readout_margin_s = 60.0": "readout_margin_s = 8.0",
    "dome_follow_period_s = 30.0": "dome_follow_period_s = 1.0",
}


def alpaca_toml(address: str, overrides: dict[str, str] | None = None) -> str:
    """Mount, dome, both cameras and wheels (with the shipped filter names) at `address`;
    `overrides` gives some roles another address (a proxy in front of the simulator)."""
    roles = {
        "mount": 0,
        "dome": 0,
        "camera_vis": 0,
        "camera_nir": 1,
        "filterwheel_vis": 0,
        "filterwheel_nir": 1,
    }
    filters = {"filterwheel_vis": '["u", "g", "r", "i", "z"]', "filterwheel_nir": '["J", "H"]'}
    chunks = []
    for role, number in roles.items():
        where = (overrides or {}).get(role, address)
        chunk = f'[devices.{role}]\nadapter = "alpaca"\naddress = "{where}"\n'
        chunk += f"device_number = {number}\ntimeout_s = 3\n"
        if role in filters:
            chunk += f"filters = {filters[role]}\n"
        chunks.append(chunk)
    return "\n".join(chunks)


def start_simulator(folder: Path) -> tuple[subprocess.Popen, str]:
    """A private alpaca-simulators process (a test may kill it); returns it and HOST:PORT."""
    from simulators.alpaca_sim import prepare, simulator_argv

    site = parse_config(default_config_text(), folder).site
    port = free_port()
    process = subprocess.Popen(
        simulator_argv(prepare(folder, site), "127.0.0.1", port),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    address = f"127.0.0.1:{port}"

    def answers() -> bool:
        with urllib.request.urlopen(f"http://{address}/api/v1/camera/0/name", timeout=2):
            return True

    try:
        wait_for(answers, 30, 0.1, what="private alpaca-simulators")
    except AssertionError:
        stop_process(process)
        raise
    return process, address


@dataclass
class Observatory:
    runtime: Runtime
    devices: Devices


def make_observatory(
    folder: Path,
    devices_toml: str,
    roles=None,
    replace: dict[str, str] | None = None,
    clock: Clock | None = None,
) -> Observatory:
    text = config_text(devices_toml)
    for old, new in {**FAST_OBSERVER, **(replace or {})}.items():
        assert old in text, old
        text = text.replace(old, new)
    config = parse_config(text, folder)
    runtime = Runtime(config, clock or RealClock())
    db.upgrade(runtime.engine)
    init_site(runtime, ADMIN_PASSWORD)
    with runtime.sessions.begin() as session:
        add_user(session, runtime.clock.now(), "alice", "observer", PASSWORD, programs=("ROUTINE",))
    devices = build_devices(config, runtime.clock, roles=roles)
    return Observatory(runtime, devices)


def sky_request(
    runtime: Runtime,
    alt_deg: float = 88.0,
    az_deg: float = 180.0,
    exposure_s: float = 1.0,
    count: int = 2,
    nir: bool = True,
    min_altitude_deg: float = 35.0,
) -> int:
    """Example 1 (M42, VIS g/r/i + NIR J/H) aimed at (alt, az) now, with short exposures;
    submitted by alice with the request builder and moved to PLANNED. Returns the sequence id."""
    target = from_altaz(alt_deg, az_deg, runtime.config.site, runtime.clock.now())
    text = example(1).decode()
    if not nir:
        start = text.index('<album channel="NIR">')
        end = text.index("</album>", start) + len("</album>")
        text = text[:start] + text[end:]
    edits = {
        'ra_deg="83.8221" dec_deg="-5.3911"': (
            f'ra_deg="{target.ra.deg:.5f}" dec_deg="{target.dec.deg:.5f}"'
        ),
        'exposure_s="30" count="3"': f'exposure_s="{exposure_s:g}" count="{count}"',
        **(
            {'exposure_s="20" count="5"': f'exposure_s="{exposure_s:g}" count="{count}"'}
            if nir
            else {}
        ),
        'min_altitude_deg="35"': f'min_altitude_deg="{min_altitude_deg:g}"',
        'duration_s="600"': f'duration_s="{max(600, 12 * count * (exposure_s + 10)):.0f}"',
    }
    for old, new in edits.items():
        assert old in text, old
        text = text.replace(old, new)
    builder = RequestBuilder(runtime.config, runtime.clock)
    done = submit_xml(builder, runtime.sessions, text.encode(), "sky.xml", "alice")
    (sequence_id,) = done.sequence_ids
    with runtime.sessions.begin() as session:
        session.get(Sequence, sequence_id).plan(runtime.clock.now())
    return sequence_id


def used_h(runtime: Runtime, username: str = "alice") -> float:
    with runtime.sessions() as session:
        return session.scalar(select(User.used_h).where(User.username == username))
