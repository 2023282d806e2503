"""The full alert leg for `bench_alerts.py`: arrival -> the slew command received by the Alpaca
mount simulator, with a real orchestrator (`run_orchestrator`) on the night test site (PLC
simulator, our gateway, alpaca-simulators), a recording proxy in front of the mount.
"""

from __future__ import annotations

import logging
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from orchestrator import jobs
from orchestrator.config import default_config_text, parse_config
from orchestrator.model import Alert, Sequence, SequenceStatus
from orchestrator.planner.triggers import ReplanTriggers
from orchestrator.requests.builder import RequestBuilder
from orchestrator.requests.spec import AlbumSpec, PlanSpec, RequestSpec, SequenceSpec
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
    # On the site's x20 clock, as the simulated night runs it: the mount slews 20 times as
    # fast (the YAML), the camera's exposures and readouts and the dome's moves take 1/20 of
    # their time (our wrapper). What is measured ends when the slew command is received; this
    # only shortens each urgent sequence, hence each cycle (the mount's answer is unchanged).
    yaml_path = prepare(folder, site, time_scale=SPEED)
    port = free_port()
    log = (folder / "simulator.log").open("w")
    process = subprocess.Popen(
        simulator_argv(yaml_path, "127.0.0.1", port, time_scale=SPEED),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    address = f"127.0.0.1:{port}"

    def answers() -> bool:
        with urllib.request.urlopen(f"http://{address}/api/v1/telescope/0/name", timeout=2):
            return True

    wait_for(answers, 60, 0.2, what="alpaca-simulators")
    return process, address


def add_routine(
    runtime, sequences: int, window_h: float = 12.0, count: int = 5, duration_s: float = 600.0
) -> None:
    """`sequences` routine sequences (`count` 60 s exposures in `duration_s` each), random sky,
    to be planned within the next `window_h` hours; both bench sites use it."""
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
                        duration_s=duration_s,
                        priority=rng.uniform(1, 10),
                        albums=[AlbumSpec("VIS", [PlanSpec("r", 60.0, count)])],
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


class _Nudge:
    """When the last nudge of the planner job was (perf_counter seconds)."""

    at_s = 0.0
    quiet_s = None


def _record_schedulers() -> list:
    """The orchestrator's APScheduler, once `run_orchestrator` made it (for `_ready`)."""
    made: list = []

    class Recorded(jobs.BackgroundScheduler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self)

    jobs.BackgroundScheduler = Recorded
    return made


def _ready(runtime, quiet: ReplanTriggers, schedulers: list) -> bool:
    """A routine sequence executing and no re-plan due. A re-plan due (the end of the last
    urgent sequence) runs the orchestrator's planner job now rather than at its next 10 s
    tick: the same job (one instance at a time), without the wait."""
    if quiet.pending_trigger() is None:
        if _Nudge.quiet_s is None:
            _Nudge.quiet_s = time.perf_counter()
        return _running_routine(runtime) is not None
    if schedulers and time.perf_counter() - _Nudge.at_s > 1.0:
        _Nudge.at_s = time.perf_counter()
        job = schedulers[-1].get_job("planner")
        if (
            job is not None
            and job.next_run_time
            and job.next_run_time > datetime.now(UTC) + timedelta(seconds=0.5)
        ):
            job.modify(next_run_time=datetime.now(UTC))
    return False


class GaveUp(logging.Handler):
    """The alerts whose re-plan after the slew gave up (the manager logs it and carries on;
    the planner job re-plans instead): their chain never gets its "replanned" step."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.alert_ids: set[int] = set()

    def emit(self, record: logging.LogRecord) -> None:
        found = re.match(r"alert (\d+): re-plan gave up", record.getMessage())
        if found:
            self.alert_ids.add(int(found.group(1)))


def _replanned(runtime, trigger: str, gave_up: GaveUp) -> bool:
    with runtime.sessions() as session:
        alert = session.scalars(select(Alert).where(Alert.trigger_id == trigger)).first()
        return "replanned" in (alert.latency_ms or {}) or alert.id in gave_up.alert_ids


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
            try:
                for path in sorted(p for p in self.inbox.iterdir() if p.is_file()):
                    if not path.name.startswith("."):
                        path.rename(self.folder / path.name)
            except FileNotFoundError:
                return  # the site's folder is gone: the bench moved on


KAFKA_TOPIC = "gcn.notices.einstein_probe.wxt.alert"
MOCK_CLUSTER = """
import sys, confluent_kafka
p = confluent_kafka.Producer({"test.mock.num.brokers": 1})
b = next(iter(p.list_topics(timeout=10).brokers.values()))
print(f"{b.host}:{b.port}", flush=True)
sys.stdin.read()
"""


def _site_replace(label: str, strategies: Path, broker: str, kafka: str | None) -> dict:
    replace = {
        "[alerts]": f'[alerts]\nstrategies = "{strategies}"',
        # the gateway's PLC poll and store at the shipped rates in real time (1 s, 2 s) under
        # the x20 clock, not 20 times as often: the gateway runs in this process
        "poll_period_s = 1.0\ntimeout_s": "poll_period_s = 20.0\ntimeout_s",
        "store_period_s = 1.0": "store_period_s = 40.0",
    }
    if label == "vtp":
        replace["vtp_brokers = []"] = f'vtp_brokers = [{{address = "{broker}"}}]'
    if label == "kafka":
        # the mock cluster answers a fetch only when fetch.wait.max.ms ends (a broker answers
        # when a message arrives): 10 ms, else the mock's wait would be measured
        replace["[alerts.kafka]"] = (
            f'[alerts.kafka]\nbootstrap_servers = "{kafka}"\nsecurity_protocol = "plaintext"\n'
            'group_id = "pyros-bench"\nfetch_wait_max_ms = 10'
        )
        replace["enabled = false                 # PYROS_GCN"] = (
            "enabled = true                  # PYROS_GCN"
        )
        replace["topics = []                     # e.g."] = f'topics = ["{KAFKA_TOPIC}"] # e.g.'
    return replace


def run_full(alerts: dict[str, int], sequences: int, sources: list[str], make_source) -> dict:
    """For each source in `sources`, a fresh site (its own database and night, from 20:00 at
    the site) with `sequences` routine sequences and the orchestrator running; `alerts[label]`
    alerts, one at a time, each while a routine sequence executes. Returns per source the
    arrival -> slew received (proxy) and the chain's listener event -> slew sent, in ms."""
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
        cluster, kafka = None, None
        if "kafka" in sources:
            cluster = subprocess.Popen(
                [sys.executable, "-c", MOCK_CLUSTER],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
            kafka = cluster.stdout.readline().strip()
        try:
            for label in sources:
                vtp_server = socket.create_server(("127.0.0.1", 0))
                broker = f"127.0.0.1:{vtp_server.getsockname()[1]}"
                site = make_site(
                    root / label,
                    f"sqlite:///{root / label / 'pyros.db'}",
                    alpaca_devices_toml(address, overrides={"mount": proxy.address}),
                    replace=_site_replace(label, strategies, broker, kafka),
                )
                try:
                    source = make_source(site.runtime, label, vtp_server, kafka)
                    results[label] = _run_source(
                        site, source, label, alerts[label], sequences, proxy
                    )
                finally:
                    site.close()
                    vtp_server.close()
        finally:
            proxy.close()
            if cluster is not None:
                cluster.stdin.close()
                stop_process(cluster)
            stop_process(process)
    return results


def _run_source(site, source, label: str, alerts: int, sequences: int, proxy) -> dict:
    rt = site.runtime
    t = time.perf_counter()
    # Two 60 s exposures in 300 s (15 s of wall time at x20): an alert pre-empts the routine
    # sequence executing, and the re-plan may keep the next one where it was planned
    # (stability), after the pre-empted one's slot; a shorter slot makes that wait shorter.
    # The schedule has more entries than with 600 s sequences: the fast path copies more.
    add_routine(rt, sequences, count=2, duration_s=300.0)
    built_s = time.perf_counter() - t
    schedulers = _record_schedulers()
    site.start_orchestrator()
    wait_for(lambda: _running_routine(rt), 300, 0.1, what="a routine sequence executing")
    if hasattr(source, "warm_up"):
        source.warm_up()
    print(
        f"  {label}: {sequences} routine sequences stored ({built_s:.1f} s), orchestrator up, "
        f"a routine sequence executing ({time.perf_counter() - t:.1f} s); clock x{SPEED:g}"
    )
    gave_up = GaveUp()
    logging.getLogger("orchestrator.alerts.manager").addHandler(gave_up)
    load_before = os.getloadavg()[0]
    rng = random.Random(7)
    quiet = ReplanTriggers(rt)
    to_slew, chain_slew, cycle_s, chains, halves = [], [], [], [], []
    for i in range(alerts):
        c = time.perf_counter()
        # as most of a night: a routine sequence executing and no re-plan due (the planner
        # job re-plans after each sequence that ended; 500 sequences take seconds of CPU)
        wait_for(lambda: _ready(rt, quiet, schedulers), 300, 0.05, what="routine, no re-plan due")
        phases = {"routine": time.perf_counter() - c}
        if _Nudge.quiet_s is not None:
            phases["quiet"] = _Nudge.quiet_s - c
        _Nudge.quiet_s = None
        time.sleep(rng.uniform(0.0, 1.0))  # random phase against a 1 s poller
        before = len(proxy.slews)
        _, t0, trigger = source.send(f"{label}-slew-{i}")
        alert = _wait_slewed(rt, trigger)
        # The alert's slew: the last slew request received before the chain's "slew" step
        # (written once the mount answered), toward the alert's RA.
        chain = alert.latency_ms
        sent = chain["arrived_unix"] + chain["slew"] / 1000.0
        ra_h = alert.ra_deg / 15.0
        after = [
            t
            for t, ra in proxy.slews[before:]
            if t0 <= t <= sent and (ra is None or abs((ra - ra_h + 12) % 24 - 12) < 0.05)
        ]
        if not after:
            raise SystemExit(f"{label}: no slew request seen for {trigger}")
        to_slew.append((after[-1] - t0) * 1000.0)
        chain_slew.append(chain["slew"])
        # the two halves: arrival -> listener event (detection), urgent schedule stored ->
        # slew PUT at the mount (the majordome's checks, the abort, the HTTP request)
        halves.append(
            (
                (chain["arrived_unix"] - t0) * 1000.0,
                (after[-1] - chain["arrived_unix"]) * 1000.0 - chain["schedule"],
            )
        )
        chains.append(chain)
        # the alert's full re-plan ends before the next alert: one alert at a time
        c2 = time.perf_counter()
        wait_for(lambda t=trigger: _replanned(rt, t, gave_up), 300, 0.05, what="re-planned")
        phases["re-plan"] = time.perf_counter() - c2
        cycle_s.append(time.perf_counter() - c)
        print(
            f"    {trigger}: arrival -> slew received {to_slew[-1]:.1f} ms, listener event -> "
            f"slew sent {chain['slew']:.1f} ms; cycle "
            + ", ".join(f"{k} {v:.1f} s" for k, v in phases.items())
            + f", total {cycle_s[-1]:.1f} s"
        )
    logging.getLogger("orchestrator.alerts.manager").removeHandler(gave_up)
    return {
        "to_slew": to_slew,
        "chain_slew": chain_slew,
        "detect": [h[0] for h in halves],
        "schedule_to_put": [h[1] for h in halves],
        "cycle": cycle_s,
        "chains": chains,
        "load": (load_before, os.getloadavg()[0]),
        "wall_s": time.perf_counter() - t,
    }
