"""The full alert leg for `bench_alerts.py`: arrival -> the slew command received by the Alpaca
mount simulator, with a real orchestrator (`run_orchestrator`) on the night test site (PLC
simulator, our gateway, alpaca-simulators), a recording proxy in front of the mount.
"""

from __future__ import annotations

import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

import yaml
from sqlalchemy import select

from orchestrator.config import default_config_text, parse_config
from orchestrator.model import Alert, Sequence, SequenceStatus
from orchestrator.request_builder import RequestBuilder
from orchestrator.request_spec import AlbumSpec, PlanSpec, RequestSpec, SequenceSpec
from orchestrator.users import find_user
from simulators.alpaca_sim import prepare, simulator_argv
from tests.helpers import free_port, stop_process, wait_for
from tests.majordome.night_helpers import SPEED, alpaca_devices_toml, make_site

# Each alert's sequence is short (one 1 s exposure, VIS only: the night site has no NIR camera).
STRATEGIES = {
    "ep.toml": ("ep-wxt-bench", "EP", "WXT"),
    "svom.toml": ("svom-eclairs-bench", "SVOM", "ECLAIRs"),
}
STRATEGY = """name = "{name}"
description = "bench: one 1 s VIS exposure"
priority = 100
max_error_radius_deg = 1.0
valid_for_s = 43200
min_altitude_deg = 20
twilight = "nautical"

[match]
missions = ["{mission}"]
instruments = ["{instrument}"]

[[vis]]
filter = "r"
exposure_s = 1
count = 1
"""
class RecordingProxy:
    """`_recording_proxy.py` in its own process, in front of the simulator's mount; `slews`
    lists (unix time, RA hours or None) of every slew request line it received."""

    def __init__(self, target: tuple[str, int]):
        script = Path(__file__).with_name("_recording_proxy.py")
        self.process = subprocess.Popen(
            [sys.executable, str(script), target[0], str(target[1])],
            stdout=subprocess.PIPE,
            text=True,
        )
        self.port = int(self.process.stdout.readline().split()[1])
        self.slews: list[tuple[float, float | None]] = []
        threading.Thread(target=self._read, daemon=True).start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _read(self) -> None:
        for line in self.process.stdout:
            _, unix, ra = line.split()
            self.slews.append((float(unix), None if ra == "-" else float(ra)))

    def close(self) -> None:
        stop_process(self.process)


def start_simulator(folder: Path) -> tuple[subprocess.Popen, str]:
    """alpaca-simulators with the shipped YAML, as tests/device_peers.py starts it."""
    site = parse_config(default_config_text(), folder).site
    yaml_path = prepare(folder, site)
    yaml_path.write_text(yaml.safe_dump(yaml.safe_load(yaml_path.read_text()), sort_keys=False))
    port = free_port()
    log = (folder / "simulator.log").open("w")
    process = subprocess.Popen(
        simulator_argv(yaml_path, "127.0.0.1", port), stdout=log, stderr=subprocess.STDOUT
    )
    address = f"127.0.0.1:{port}"

    def answers() -> bool:
        with urllib.request.urlopen(f"http://{address}/api/v1/telescope/0/name", timeout=2):
            return True

    wait_for(answers, 60, 0.2, what="alpaca-simulators")
    return process, address


def add_routine(runtime, sequences: int, window_h: float = 12.0) -> None:
    """`sequences` routine sequences (five 60 s exposures each), random sky, to be planned
    within the next `window_h` hours; both bench sites use it."""
    builder = RequestBuilder(runtime.config, runtime.clock)
    now = runtime.clock.now()
    rng = random.Random(13)
    with runtime.sessions.begin() as session:
        admin = find_user(session, "admin")
        for i in range(sequences):
            spec = RequestSpec(
                name=f"routine {i}",
                sequences=[
                    SequenceSpec(
                        name=f"routine {i}",
                        target_name=f"T{i}",
                        ra_deg=rng.uniform(0, 360),
                        dec_deg=rng.uniform(-20, 80),
                        window_start=now,
                        window_end=now + timedelta(hours=window_h),
                        duration_s=600.0,
                        priority=rng.uniform(1, 10),
                        albums=[AlbumSpec("VIS", [PlanSpec("r", 60.0, 5)])],
                    )
                ],
            )
            builder.build(session, spec, admin, source="api")


def _running_routine(runtime) -> int | None:
    with runtime.sessions() as session:
        return session.scalars(
            select(Sequence.id).where(
                Sequence.status == SequenceStatus.EXECUTING, Sequence.is_urgent.is_(False)
            )
        ).first()


def _alert(runtime, trigger: str) -> Alert | None:
    with runtime.sessions() as session:
        alert = session.scalars(select(Alert).where(Alert.trigger_id == trigger)).first()
        if alert is not None and "slew" in (alert.latency_ms or {}):
            session.expunge(alert)
            return alert
    return None


def _wait_slewed(runtime, trigger: str) -> Alert:
    try:
        return wait_for(lambda: _alert(runtime, trigger), 120, 0.02, what=trigger)
    except AssertionError:
        with runtime.sessions() as session:
            alert = session.scalars(select(Alert).where(Alert.trigger_id == trigger)).first()
            seen = None if alert is None else (alert.status, alert.reason, alert.latency_ms)
        raise SystemExit(f"{trigger}: no slew in 120 s; alert stored: {seen}") from None


def _debug_schedule(runtime) -> None:
    from orchestrator.model import Schedule, ScheduleEntry

    now = runtime.clock.now()
    with runtime.sessions() as session:
        sch = session.scalars(select(Schedule).order_by(Schedule.id.desc()).limit(1)).first()
        entries = session.execute(
            select(ScheduleEntry.sequence_id, ScheduleEntry.start, ScheduleEntry.end, Sequence.status, Sequence.is_urgent)
            .join(Sequence, Sequence.id == ScheduleEntry.sequence_id)
            .where(ScheduleEntry.schedule_id == sch.id)
            .order_by(ScheduleEntry.start)
            .limit(4)
        ).all()
        print("      DEBUG schedule", sch.id, sch.trigger, [((s - now).total_seconds(), (e - now).total_seconds(), str(st), u) for _, s, e, st, u in entries])


def _replanned(runtime, trigger: str) -> bool:
    with runtime.sessions() as session:
        alert = session.scalars(select(Alert).where(Alert.trigger_id == trigger)).first()
        return "replanned" in (alert.latency_ms or {})


ENDED = (SequenceStatus.EXECUTED, SequenceStatus.FAILED, SequenceStatus.CANCELLED)


def _urgent_done(runtime, request_id: int) -> bool:
    with runtime.sessions() as session:
        states = session.scalars(
            select(Sequence.status).where(Sequence.request_id == request_id)
        ).all()
    # Not executing any more. Ended, normally; but a re-plan racing the pre-emption may have set
    # the running urgent sequence back to "planned" (then its end is refused: logged).
    return bool(states) and all(s != SequenceStatus.EXECUTING for s in states)


class PollingInbox:
    """The seed's design: a poller lists an inbox every 1 s and hands each new file to the
    pipeline (renamed into the watched folder: the inotify hop adds well under 1 ms)."""

    def __init__(self, inbox: Path, folder: Path):
        self.inbox, self.folder = inbox, folder
        inbox.mkdir(parents=True, exist_ok=True)
        self.stop = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while not self.stop.wait(1.0):
            for path in sorted(p for p in self.inbox.iterdir() if p.is_file()):
                if not path.name.startswith("."):
                    path.rename(self.folder / path.name)


def run_full(alerts: int, sequences: int, sources: list[str], make_sources) -> dict:
    """Run the orchestrator; for each source in `sources` send `alerts` alerts, one at a time,
    each while a routine sequence executes; return per source the arrival -> slew received
    (proxy) and the chain's listener event -> slew sent, in ms."""
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        sim_folder = root / "alpaca-sim"
        sim_folder.mkdir()
        process, address = start_simulator(sim_folder)
        host, port = address.split(":")
        proxy = RecordingProxy((host, int(port)))
        strategies = root / "strategies"
        strategies.mkdir()
        for file, (name, mission, instrument) in STRATEGIES.items():
            text = STRATEGY.format(name=name, mission=mission, instrument=instrument)
            (strategies / file).write_text(text)
        vtp_server = socket.create_server(("127.0.0.1", 0))
        broker = f"127.0.0.1:{vtp_server.getsockname()[1]}"
        site = make_site(
            root / "site",
            f"sqlite:///{root / 'pyros.db'}",
            alpaca_devices_toml(address, overrides={"mount": proxy.address}),
            replace={
                "[alerts]": f'[alerts]\nstrategies = "{strategies}"',
                "vtp_brokers = []": f'vtp_brokers = [{{address = "{broker}"}}]',
                # the gateway's PLC poll and store at the shipped rates in real time (1 s, 2 s)
                # under the x20 clock, not 20 times as often: the gateway runs in this process
                "poll_period_s = 1.0\ntimeout_s": "poll_period_s = 20.0\ntimeout_s",
                "store_period_s = 1.0": "store_period_s = 40.0",
            },
        )
        rt = site.runtime
        try:
            t = time.perf_counter()
            add_routine(rt, sequences)
            built_s = time.perf_counter() - t
            by_name = make_sources(rt, vtp_server)
            site.start_orchestrator()
            wait_for(lambda: _running_routine(rt), 300, 0.1, what="a routine sequence executing")
            print(
                f"full leg set-up: {sequences} routine sequences stored ({built_s:.1f} s), "
                f"orchestrator up, a routine sequence executing "
                f"({time.perf_counter() - t:.1f} s); clock x{SPEED:g}"
            )
            rng = random.Random(7)
            for label in sources:
                source = by_name[label]
                to_slew, chain_slew, cycle_s, chains = [], [], [], []
                for i in range(alerts):
                    c = time.perf_counter()
                    wait_for(lambda: _running_routine(rt), 300, 0.05, what="routine executing")
                    phases = {"routine": time.perf_counter() - c}
                    time.sleep(rng.uniform(0.0, 1.0))  # random phase against a 1 s poller
                    before = len(proxy.slews)
                    _, t0, trigger = source.send(f"{label}-slew-{i}")
                    alert = _wait_slewed(rt, trigger)
                    # The alert's slew: the last slew request received before the chain's
                    # "slew" step (written once the mount answered), toward the alert's RA.
                    chain = alert.latency_ms
                    sent = chain["arrived_unix"] + chain["slew"] / 1000.0
                    ra_h = alert.ra_deg / 15.0
                    after = [
                        t
                        for t, ra in proxy.slews[before:]
                        if t0 <= t <= sent
                        and (ra is None or abs((ra - ra_h + 12) % 24 - 12) < 0.05)
                    ]
                    if not after:
                        raise SystemExit(f"{label}: no slew request seen for {trigger}")
                    after = after[-1:]
                    to_slew.append((after[0] - t0) * 1000.0)
                    print(
                        f"    {trigger}: arrival -> slew received {to_slew[-1]:.1f} ms, "
                        f"listener event -> slew sent {alert.latency_ms['slew']:.1f} ms"
                    )
                    chain_slew.append(alert.latency_ms["slew"])
                    chains.append(alert.latency_ms)
                    # the alert's full re-plan ends before the next alert: one at a time
                    c2 = time.perf_counter()
                    wait_for(lambda t=trigger: _replanned(rt, t), 300, 0.05, what="re-planned")
                    phases["re-plan"] = time.perf_counter() - c2
                    _debug_schedule(rt)
                    cycle_s.append(time.perf_counter() - c)
                    print(
                        "      cycle: "
                        + ", ".join(f"{k} {v:.1f} s" for k, v in phases.items())
                        + f", total {cycle_s[-1]:.1f} s"
                    )
                results[label] = {
                    "to_slew": to_slew,
                    "chain_slew": chain_slew,
                    "cycle": cycle_s,
                    "chains": chains,
                }
        finally:
            site.close()
            proxy.close()
            vtp_server.close()
            stop_process(process)
    return results
