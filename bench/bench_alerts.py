"""Alert latency benchmark: a notice arriving (file renamed into the VOEvent folder, last byte
of a VTP frame, or on the Kafka broker) -> the slew command received by the Alpaca mount
simulator.

    .venv/bin/python bench/bench_alerts.py [--alerts 50] [--seed-alerts 10] [--sequences 500]
                                           [--no-vtp] [--no-seed] [--no-full | --full-only]
                                           [--no-inotify] [--no-kafka]

Alerts are at the zenith: an Einstein Probe WXT JSON notice written by this process to a hidden
name then renamed into the folder (t0 = just after the rename), or an SVOM ECLAIRs VOEvent sent
as one VTP frame by a GCN Classic style server in this process (t0 = after the last byte is
sent). One alert at a time, after a random 0-1 s pause (a poller's 1 s tick is met at a random
phase). The seed's design (the folder polled every 1 s) runs on the same pipeline for
comparison; its Celery hop is not modelled (it would only add).

Early legs (in-process manager, no majordome): SQLite database (WAL) made by `pyros init`,
`--sequences` routine sequences planned, one executing, a simulated clock at 22:00 at COLIBRI;
arrival -> `on_urgent` called, and the stored latency chain (stored / request / schedule / ...).

Full leg (`_alerts_slew.py`), per source a fresh site (its own SQLite database and night from
20:00 at COLIBRI): `run_orchestrator` in a thread (planner, alert listeners, majordome) on the
night test site of tests/majordome (PLC simulator, our gateway polling it at the shipped 1 s,
alpaca-simulators on the x20 clock: camera, dome and mount 20 times as fast), `--sequences`
routine sequences (two 60 s exposures in a 300 s slot) in the database. Before each alert a
routine sequence is executing and no re-plan is due (as most of a night: the planner job
re-plans after each sequence that ended; when one is due the bench runs that job at once
rather than at its next 10 s tick); the alert's urgent sequence (one 1 s exposure) pre-empts
it, and the next alert waits for the alert's full re-plan. `--seed-alerts` (default 10) sets
the number of alerts through the seed's 1 s polling, fewer than `--alerts`: each costs ~0.5 s
more, and its figures are far from the others. t1 = the slew request line (PUT
slewtocoordinatesasync) received by a recording TCP proxy, in its own process, in front of
the simulator's mount; the latency chain's steps are printed beside it. Sources: the folder
(inotify), VTP, GCN Kafka (a producer to librdkafka's mock cluster, t0 = its delivery report;
`alerts.kafka.fetch_wait_max_ms = 10` because the mock answers a fetch only at that limit,
where a broker answers on arrival), and the seed's 1 s polling of an inbox renamed into the
folder. The load average is printed per source (before and after): the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from astropy.coordinates import EarthLocation  # noqa: E402
from astropy.time import Time  # noqa: E402
from sqlalchemy import select  # noqa: E402

from orchestrator.alerts.listeners.folder import FolderListener  # noqa: E402
from orchestrator.alerts.listeners.vtp import VtpListener, frame  # noqa: E402
from orchestrator.alerts.manager import AlertManager  # noqa: E402
from orchestrator.alerts.replay import freshen  # noqa: E402
from orchestrator.bootstrap import init_site  # noqa: E402
from orchestrator.clock import SimulatedClock  # noqa: E402
from orchestrator.config import default_config_text, parse_config  # noqa: E402
from orchestrator.model import Alert, Sequence, SequenceStatus  # noqa: E402
from orchestrator.planner.service import replan  # noqa: E402
from orchestrator.runtime import Runtime  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
START = datetime(2026, 11, 26, 6, 0, tzinfo=UTC)  # 22:00 at COLIBRI (UTC-8)


class PollingFolderListener(FolderListener):
    """The seed's design: list the folder every second (no inotify)."""

    name = "alerts-folder-polling"

    def serve(self, stop: threading.Event) -> None:
        for sub in (self.folder, self.processed, self.rejected):
            sub.mkdir(parents=True, exist_ok=True)
        self.connected_ok()
        while not stop.wait(1.0):
            for path in sorted(p for p in self.folder.iterdir() if p.is_file()):
                if not path.name.startswith("."):
                    self.process(path, (time.perf_counter(), time.time()))


def make_site(folder: Path, sequences: int) -> Runtime:
    config = parse_config(default_config_text(), folder)
    runtime = Runtime(config, SimulatedClock(START, 1.0))
    init_site(runtime, "bench")
    from _alerts_slew import add_routine

    add_routine(runtime, sequences, window_h=10.0)
    replan(runtime, trigger="bench")
    with runtime.sessions.begin() as session:  # one sequence executing, as at night
        running = session.scalars(
            select(Sequence).where(Sequence.status == SequenceStatus.PLANNED).limit(1)
        ).first()
        running.start(runtime.clock.now())
    return runtime


def zenith_notice(runtime: Runtime, ident: str) -> bytes:
    site = runtime.config.site
    now = runtime.clock.now()
    location = EarthLocation.from_geodetic(site.longitude_deg, site.latitude_deg)
    ra = float(Time(now).sidereal_time("mean", longitude=location.lon).deg) % 360.0
    return json.dumps(
        {
            "$schema": "https://gcn.nasa.gov/schema/v4.1.0/gcn/notices/einstein_probe/wxt/alert.schema.json",
            "instrument": "WXT",
            "id": [ident],
            "ra": round(ra, 4),
            "dec": site.latitude_deg,
            "ra_dec_error": 0.03,
            "trigger_time": (now - timedelta(seconds=30)).isoformat(),
        }
    ).encode()


class FolderSource:
    """Writes each notice to a hidden name, then renames it into the folder."""

    def __init__(self, runtime: Runtime, listener_class):
        self.runtime, self.listener_class = runtime, listener_class
        self.folder = runtime.config.folders.voevents

    def listener(self, manager: AlertManager):
        return self.listener_class(manager, self.folder)

    def send(self, ident: str) -> tuple[float, float, str]:
        hidden = self.folder / f".{ident}.json"
        hidden.write_bytes(zenith_notice(self.runtime, ident))
        hidden.rename(self.folder / f"{ident}.json")
        return time.perf_counter(), time.time(), f"EP:{ident}"


class VtpSource:
    """A GCN Classic style VTP server (framing as pygcn-serve) sending SVOM ECLAIRs VOEvents
    moved to the zenith; t0 = the frame's last byte handed to the kernel."""

    def __init__(self, runtime: Runtime, server: socket.socket | None = None):
        self.runtime = runtime
        self.server = server or socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.conn = None
        self.template = (REPO / "tests/data/voevents/svom__eclairs__eclairs_296.xml").read_bytes()

    def listener(self, manager: AlertManager):
        listener = VtpListener(manager, "127.0.0.1", self.port, "ivo://pyros/bench")
        self.accept(10)
        return listener

    def accept(self, timeout_s: float) -> None:
        self.server.settimeout(timeout_s)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        self.conn, _ = self.server.accept()

    def send(self, ident: str) -> tuple[float, float, str]:
        from lxml import etree

        notice = json.loads(zenith_notice(self.runtime, ident))
        root = etree.fromstring(freshen(self.template, self.runtime.clock.now()))
        root.find(".//{*}C1").text = str(notice["ra"])
        root.find(".//{*}C2").text = str(notice["dec"])
        for param in root.iter("{*}Param"):
            if param.get("name") == "Burst_Id":
                param.set("value", ident)
        payload = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
        while self.conn is None:
            time.sleep(0.01)
        self.conn.sendall(frame(payload))
        return time.perf_counter(), time.time(), f"SVOM:{ident}"


def run(runtime: Runtime, source, alerts: int, label: str) -> dict:
    calls: dict[int, float] = {}
    called = threading.Condition()

    def on_urgent(sequence_id: int, reason: str) -> None:
        with called:
            calls[int(reason.split()[1].rstrip(":"))] = time.perf_counter()
            called.notify_all()

    manager = AlertManager(runtime, on_urgent=on_urgent)
    manager.warm_up()  # as start_listeners does
    listener = source.listener(manager).start()
    listener.connected.wait(10)
    to_urgent_ms, to_event_ms, chains = [], [], []
    import random

    rng = random.Random(7)
    try:
        for i in range(alerts):
            time.sleep(rng.uniform(0.0, 1.0))  # random phase against a poller's 1 s tick
            before = len(calls)
            t0, t0_unix, trigger = source.send(f"{label}-{i}")
            deadline = time.monotonic() + 120
            with called:  # sleep until the callback (no polling beside the measured path)
                called.wait_for(lambda before=before: len(calls) > before, timeout=30)
            alert = None
            while time.monotonic() < deadline:
                with runtime.sessions() as s:
                    alert = s.scalars(select(Alert).where(Alert.trigger_id == trigger)).first()
                    if alert is not None and "replanned" in alert.latency_ms:
                        break
                time.sleep(0.1)
            else:
                raise SystemExit(f"{label}: alert {trigger} not handled in 120 s")
            if alert.id not in calls:
                raise SystemExit(f"{label}: alert {alert.id} never pre-empted ({alert.reason})")
            to_urgent_ms.append((calls[alert.id] - t0) * 1000.0)
            to_event_ms.append((alert.latency_ms["arrived_unix"] - t0_unix) * 1000.0)
            chains.append(alert.latency_ms)
    finally:
        listener.stop()
    return {"to_urgent": to_urgent_ms, "to_event": to_event_ms, "chains": chains}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def report(label: str, result: dict) -> None:
    urgent = result["to_urgent"]
    print(f"\n{label}: {len(urgent)} alerts")
    print(
        f"  arrival -> on_urgent called (urgent schedule stored before) : "
        f"p50 {statistics.median(urgent):7.1f} ms   p95 {pct(urgent, 95):7.1f} ms   "
        f"max {max(urgent):7.1f} ms"
    )
    event = result["to_event"]
    print(
        f"  arrival -> the listener's event (detection)              : "
        f"p50 {statistics.median(event):7.1f} ms   p95 {pct(event, 95):7.1f} ms"
    )
    for step in ("parsed", "stored", "request", "schedule", "majordome", "replanned"):
        values = [c[step] for c in result["chains"] if step in c]
        print(
            f"  chain: listener event -> {step:10} p50 {statistics.median(values):7.1f} ms   "
            f"p95 {pct(values, 95):7.1f} ms"
        )


class KafkaSource:
    """A producer to librdkafka's mock cluster (topic of EP WXT notices); t0 = the broker's
    delivery report (the notice is on the broker, ready for a consumer)."""

    def __init__(self, runtime: Runtime, address: str):
        import confluent_kafka
        from _alerts_slew import KAFKA_TOPIC

        self.runtime, self.topic = runtime, KAFKA_TOPIC
        self.producer = confluent_kafka.Producer({"bootstrap.servers": address, "linger.ms": 0})

    def warm_up(self) -> None:
        """A test notice first: the consumer group's first assignment takes seconds, once."""
        from tests.helpers import wait_for

        notice = json.loads(zenith_notice(self.runtime, "bench-warm-up"))
        notice["alert_tense"] = "test"
        self.producer.produce(self.topic, json.dumps(notice).encode())
        self.producer.flush(30)

        def stored() -> bool:
            with self.runtime.sessions() as session:
                return session.scalar(select(Alert.id).where(Alert.source == "kafka")) is not None

        wait_for(stored, 120, 0.1, what="the Kafka listener's first notice")

    def send(self, ident: str) -> tuple[float, float, str]:
        delivered: dict[str, tuple[float, float]] = {}

        def report(error, _message) -> None:
            if error is None:
                delivered["t"] = (time.perf_counter(), time.time())

        self.producer.produce(self.topic, zenith_notice(self.runtime, ident), callback=report)
        self.producer.flush(30)
        if "t" not in delivered:
            raise SystemExit(f"kafka: {ident} not delivered to the mock cluster")
        return *delivered["t"], f"EP:{ident}"


def full_source(runtime: Runtime, label: str, vtp_server: socket.socket, kafka: str | None):
    """One arrival path for the full leg, on the orchestrator's own listeners."""
    from _alerts_slew import PollingInbox

    if label == "vtp":
        vtp = VtpSource(runtime, vtp_server)
        vtp.accept(120)  # the orchestrator's VTP listener connects when it starts
        return vtp
    if label == "kafka":
        return KafkaSource(runtime, kafka)
    source = FolderSource(runtime, None)
    if label == "polling":
        source.folder = runtime.config.folders.voevents.parent / "inbox"
        PollingInbox(source.folder, runtime.config.folders.voevents)
    return source


FULL_LABELS = {
    "inotify": "PyROS, folder (inotify, file renamed into the folder)",
    "vtp": "PyROS, VTP (arrival = last byte of the frame sent)",
    "kafka": "PyROS, GCN Kafka (arrival = the mock broker's delivery report)",
    "polling": "seed's design (folder polled every 1 s, same pipeline, no Celery hop)",
}


def report_full(results: dict) -> None:
    print("\nFULL LEG: arrival -> slew command received by the Alpaca mount simulator (proxy)")
    for label, result in results.items():
        slew, chain, cycle = result["to_slew"], result["chain_slew"], result["cycle"]
        load = result["load"]
        print(
            f"  {FULL_LABELS[label]}: {len(slew)} alerts in {result['wall_s']:.0f} s "
            f"(load average {load[0]:.1f} before, {load[1]:.1f} after)"
        )
        print(
            f"    arrival -> slew PUT received (proxy)      : p50 {statistics.median(slew):7.1f} ms"
            f"   p95 {pct(slew, 95):7.1f} ms   max {max(slew):7.1f} ms"
        )
        print(
            f"    chain: listener event -> slew sent (step) : "
            f"p50 {statistics.median(chain):7.1f} ms   p95 {pct(chain, 95):7.1f} ms   "
            f"(cycle per alert p50 {statistics.median(cycle):.1f} s)"
        )
        for what, values in (
            ("arrival -> listener event (detection)", result["detect"]),
            ("urgent schedule stored -> slew PUT at the mount", result["schedule_to_put"]),
        ):
            print(
                f"    {what}: p50 {statistics.median(values):7.1f} ms   "
                f"p95 {pct(values, 95):7.1f} ms"
            )
        for step in ("parsed", "stored", "request", "schedule", "abort", "slew", "majordome"):
            values = [c[step] for c in result["chains"] if step in c]
            if values:
                print(
                    f"      chain: listener event -> {step:10}: p50 "
                    f"{statistics.median(values):7.1f} ms   p95 {pct(values, 95):7.1f} ms"
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=50)
    parser.add_argument(
        "--seed-alerts",
        type=int,
        default=10,
        help="full leg: alerts through the seed's 1 s polling (each costs its ~0.5 s wait)",
    )
    parser.add_argument("--sequences", type=int, default=500)
    parser.add_argument("--no-seed", action="store_true", help="skip the 1 s polling runs")
    parser.add_argument("--no-vtp", action="store_true", help="skip the VTP runs")
    parser.add_argument("--no-full", action="store_true", help="skip the leg up to the mount")
    parser.add_argument("--full-only", action="store_true", help="only the leg up to the mount")
    parser.add_argument("--no-inotify", action="store_true", help="full leg: skip the folder")
    parser.add_argument("--no-kafka", action="store_true", help="full leg: skip GCN Kafka")
    args = parser.parse_args()
    print(
        f"conditions: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} "
        f"{os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}; Python {sys.version.split()[0]}"
    )
    if not args.full_only:
        with tempfile.TemporaryDirectory() as tmp:
            t = time.perf_counter()
            runtime = make_site(Path(tmp), args.sequences)
            print(
                f"set-up: {args.sequences} sequences planned, one executing "
                f"({time.perf_counter() - t:.1f} s); SQLite; clock at {START:%Y-%m-%d %H:%M} UTC"
            )
            print("leg measured: arrival -> urgent schedule stored -> on_urgent called")
            ours = run(runtime, FolderSource(runtime, FolderListener), args.alerts, "inotify")
            report("PyROS, folder (inotify listener, fast path)", ours)
            if not args.no_vtp:
                vtp = run(runtime, VtpSource(runtime), args.alerts, "vtp")
                report("PyROS, VTP (arrival = last byte of the frame sent)", vtp)
            if not args.no_seed:
                source = FolderSource(runtime, PollingFolderListener)
                seed = run(runtime, source, args.alerts, "polling")
                report(
                    "seed's design (folder polled every 1 s, same pipeline, no Celery hop)", seed
                )
            runtime.engine.dispose()
    if not args.no_full:
        from _alerts_slew import run_full

        logging.getLogger("apscheduler").setLevel(logging.ERROR)  # "skipped" lines under load
        if os.environ.get("BENCH_DEBUG"):
            logging.basicConfig(format="%(asctime)s %(threadName)s %(name)s %(message)s")
            for name in ("orchestrator.majordome", "orchestrator.observer"):
                logging.getLogger(name).setLevel(logging.INFO)
        labels = ([] if args.no_inotify else ["inotify"]) + ([] if args.no_vtp else ["vtp"])
        labels += ([] if args.no_kafka else ["kafka"]) + ([] if args.no_seed else ["polling"])
        counts = {label: args.alerts for label in labels}
        counts["polling"] = args.seed_alerts
        results = run_full(counts, args.sequences, labels, full_source)
        report_full(results)
    print(
        f"load average at the end: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} "
        f"{os.getloadavg()[2]:.2f}"
    )


if __name__ == "__main__":
    main()
