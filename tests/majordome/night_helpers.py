"""A whole observatory for the night tests: PLC simulator, our gateway, the Alpaca simulator and
the orchestrator's jobs (`run_orchestrator` in a thread), all on one accelerated clock.

The clock starts at 2026-11-25 04:00 UTC (20:00 at the site, night) and runs SPEED times
faster than real time, so the gateway's reopen delay and the planner's entries pass in seconds.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from orchestrator import db
from orchestrator.bootstrap import init_site
from orchestrator.clock import SimulatedClock
from orchestrator.config import parse_config
from orchestrator.devices.coords import from_altaz
from orchestrator.model import Sequence
from orchestrator.requests.builder import RequestBuilder
from orchestrator.requests.xml_io import submit_xml
from orchestrator.runtime import Runtime
from orchestrator.users import add_user
from plc_gateway.server import Gateway
from simulators.plc_simulator import PlcSimulator
from tests.device_peers import config_text
from tests.orchestrator.request_helpers import ADMIN_PASSWORD, PASSWORD, example
from tests.plc_gateway.conftest import _without_sections

SPEED = 20.0
START = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)
SECTIONS = ("plc", "safety", "gateway", "majordome", "overheads")
NIGHT_TOML = """
[plc]
poll_period_s = 1.0
timeout_s = 0.5

[safety]
stale_after_s = 60.0
reopen_delay_s = 30.0

[gateway]
store_period_s = 1.0
history_period_s = 60.0
discovery_port = 0

[overheads]
slew_s = 20.0
slew_rate_deg_s = 3.0
readout_s = 2.0
filter_change_s = 1.0

[majordome]
tick_period_s = 0.2
safety_poll_s = 0.05
safety_timeout_s = 3.0
close_timeout_s = 60
park_timeout_s = 90
open_timeout_s = 60
abort_timeout_s = 15
reconnect_min_s = 0.5
reconnect_max_s = 2.0
min_free_disk_mb = 1
"""


def alpaca_devices_toml(address: str, overrides: dict[str, str] | None = None) -> str:
    """Mount, dome and the VIS camera and wheel at `address` (or at an override: a proxy)."""
    roles = {"mount": 0, "dome": 0, "camera_vis": 0, "filterwheel_vis": 0}
    chunks = []
    for role, number in roles.items():
        where = (overrides or {}).get(role, address)
        chunk = f'[devices.{role}]\nadapter = "alpaca"\naddress = "{where}"\n'
        chunk += f"device_number = {number}\ntimeout_s = 3\n"
        if role == "filterwheel_vis":
            chunk += 'filters = ["u", "g", "r", "i", "z"]\n'
        chunks.append(chunk)
    return "\n".join(chunks)


@dataclass
class Site:
    runtime: Runtime
    clock: SimulatedClock
    plc: PlcSimulator
    gateway: Gateway
    text: str = ""  # the config file's text (database and gateway not yet filled in)
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    def start_orchestrator(self) -> None:
        from orchestrator.jobs import run_orchestrator

        self.stop.clear()
        self.thread = threading.Thread(
            target=run_orchestrator,
            args=(self.runtime, self.stop),
            name="orchestrator",
            daemon=True,
        )
        self.thread.start()

    def stop_orchestrator(self) -> None:
        self.stop.set()
        if self.thread is not None:
            self.thread.join(60)
            assert not self.thread.is_alive(), "the orchestrator did not stop"

    def config_file(self, folder: Path) -> Path:
        """The config as a file for a `pyros orchestrator` process, its clock starting now."""
        gateway = f"[gateway]\nport = {self.gateway.port}\n"
        text = self.text.replace("[gateway]\n", gateway, 1)
        text = text.replace("[clock]\nspeed = 1.0", f"[clock]\nspeed = {SPEED}", 1)
        start = self.clock.now().isoformat().replace("+00:00", "Z")
        text = text.replace(f"speed = {SPEED}", f"speed = {SPEED}\nstart = {start}", 1)
        text = text.replace(
            'url = "sqlite:///var/pyros.db"', f'url = "{self.runtime.config.database.url}"', 1
        )
        path = folder / "pyros.toml"
        path.write_text(text)
        return path

    def close(self) -> None:
        self.stop_orchestrator()
        self.gateway.stop()
        self.plc.stop()
        self.runtime.engine.dispose()


def make_site(folder: Path, db_url: str, devices_toml: str, replace: dict | None = None) -> Site:
    clock = SimulatedClock(START, SPEED)
    plc = PlcSimulator(clock=clock).start()
    text = _without_sections(config_text(devices_toml), SECTIONS) + NIGHT_TOML
    text = text.replace("[plc]\n", f'[plc]\naddress = "127.0.0.1:{plc.port}"\n', 1)
    for old, new in (replace or {}).items():
        assert old in text, old
        text = text.replace(old, new)
    config = parse_config(text, folder)
    config = config.model_copy(
        update={"database": config.database.model_copy(update={"url": db_url})}
    )
    runtime = Runtime(config, clock)
    db.upgrade(runtime.engine)
    init_site(runtime, ADMIN_PASSWORD)
    with runtime.sessions.begin() as session:
        add_user(session, clock.now(), "alice", "observer", PASSWORD, programs=("ROUTINE",))
    gateway = Gateway(config, clock, runtime.sessions, port=0, discovery_port=0).start()
    config = config.model_copy(
        update={"gateway": config.gateway.model_copy(update={"port": gateway.port})}
    )
    runtime.config = config
    return Site(runtime, clock, plc, gateway, text=text)


def submit_sky_request(
    runtime: Runtime,
    name: str,
    alt_deg: float,
    az_deg: float,
    exposure_s: float = 1.0,
    count: int = 2,
    window_h: float = 1.5,
) -> int:
    """Example 1 (VIS g/r/i) aimed at (alt, az) at the clock's now, short exposures; submitted
    by alice (TO_BE_PLANNED: the planner job schedules it). Returns the sequence id.

    Its window is the next `window_h` hours of the clock: the planner may place a sequence
    anywhere in its window (its score does not favour early starts), so a short window keeps
    the night tests' waits bounded whatever placement the planner chooses."""
    now = runtime.clock.now()
    target = from_altaz(alt_deg, az_deg, runtime.config.site, now)
    window_end = now + timedelta(hours=window_h)
    text = example(1).decode()
    start = text.index('<album channel="NIR">')
    end = text.index("</album>", start) + len("</album>")
    edits = {
        text[start:end]: "",
        'ra_deg="83.8221" dec_deg="-5.3911"': (
            f'ra_deg="{target.ra.deg:.5f}" dec_deg="{target.dec.deg:.5f}"'
        ),
        'exposure_s="30" count="3"': f'exposure_s="{exposure_s:g}" count="{count}"',
        'min_altitude_deg="35"': 'min_altitude_deg="30"',
        'duration_s="600"': 'duration_s="240"',
        'name="M42 VIS+NIR"': f'name="{name}"',
        '<window start="2026-11-01T00:00:00Z" end="2027-03-31T00:00:00Z"/>': (
            f'<window start="{now:%Y-%m-%dT%H:%M:%SZ}" end="{window_end:%Y-%m-%dT%H:%M:%SZ}"/>'
        ),
    }
    for old, new in edits.items():
        assert old in text, old
        text = text.replace(old, new)
    builder = RequestBuilder(runtime.config, runtime.clock)
    done = submit_xml(builder, runtime.sessions, text.encode(), f"{name}.xml", "alice")
    (sequence_id,) = done.sequence_ids
    return sequence_id


def statuses(runtime: Runtime, ids) -> dict[int, str]:
    with runtime.sessions() as session:
        rows = session.execute(select(Sequence.id, Sequence.status).where(Sequence.id.in_(ids)))
        return {i: str(s) for i, s in rows}
