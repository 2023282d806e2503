"""The three listeners against real peers: files written by another process, Comet and
pygcn-serve over VTP, librdkafka's mock cluster fed by kcat. No mock of our own."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import select

from orchestrator import db
from orchestrator.alerts.listeners.folder import FolderListener
from orchestrator.alerts.listeners.kafka import KafkaListener
from orchestrator.alerts.listeners.vtp import VtpListener
from orchestrator.alerts.manager import AlertManager
from orchestrator.bootstrap import init_site
from orchestrator.config import KafkaAlertsConfig
from orchestrator.model import Alert, JobHeartbeat
from tests.conftest import make_runtime
from tests.helpers import free_port, pyros, stop_process, wait_for
from tests.orchestrator.alerts.conftest import VOEVENTS

BIN = Path(sys.executable).parent
SVOM = VOEVENTS / "svom__eclairs__eclairs_296.xml"
MXT = VOEVENTS / "svom__mxt__mxt_40.xml"


@pytest.fixture
def manager(tmp_path, clock):
    runtime = make_runtime(tmp_path, clock, f"sqlite:///{tmp_path / 'pyros.db'}")
    db.upgrade(runtime.engine)
    init_site(runtime, "secret")
    yield AlertManager(runtime)
    runtime.engine.dispose()


@pytest.fixture
def listeners():
    started = []
    yield started
    for listener in started:
        listener.stop()


def alerts(manager) -> dict[str, Alert]:
    with manager.runtime.sessions() as s:
        return {a.ivorn: a for a in s.scalars(select(Alert))}


def ivorn_of(path: Path) -> str:
    return path.read_text().split('ivorn="')[1].split('"')[0]


# -- folder ---------------------------------------------------------------------------------

WRITER = textwrap.dedent("""
    import os, sys, time
    src, dst, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    data = open(src, "rb").read()
    if mode == "slow":  # half, a pause, the rest: the listener must wait for the close
        with open(dst, "wb") as f:
            f.write(data[: len(data) // 2]); f.flush(); os.fsync(f.fileno())
            time.sleep(0.5)
            f.write(data[len(data) // 2 :])
    else:  # write a hidden name (or, "move": in a sibling folder), then rename into place
        tmp = os.path.join(os.path.dirname(dst), "." + os.path.basename(dst))
        if mode == "move":
            tmp = os.path.join(os.path.dirname(dst) + ".tmp", os.path.basename(dst))
            os.makedirs(os.path.dirname(tmp), exist_ok=True)
        open(tmp, "wb").write(data)
        os.rename(tmp, dst)
""")


def write_from_another_process(src: Path, dst: Path, mode: str) -> None:
    subprocess.run([sys.executable, "-c", WRITER, str(src), str(dst), mode], check=True, timeout=30)


def test_folder_files_from_another_process_slow_or_renamed_are_stored_and_moved(
    manager, listeners, tmp_path
):
    folder = manager.runtime.config.folders.voevents
    listener = FolderListener(manager, folder)
    listeners.append(listener.start())
    wait_for(listener.connected.is_set, what="folder watch")
    write_from_another_process(SVOM, folder / "slow.xml", "slow")
    write_from_another_process(MXT, folder / "renamed.xml", "rename")
    (tmp_path / "bad.xml").write_bytes(b"<VOEvent><unclosed>")
    write_from_another_process(tmp_path / "bad.xml", folder / "bad.xml", "rename")
    wait_for(lambda: (folder / "rejected" / "bad.xml.reason").exists(), what="rejected file")
    got = wait_for(lambda: len(alerts(manager)) == 3 and alerts(manager), what="3 alerts")
    assert got[ivorn_of(SVOM)].status == "recorded"  # complete: parsed, not rejected
    assert got[ivorn_of(MXT)].source == "folder"
    assert sorted(p.name for p in (folder / "processed").iterdir()) == ["renamed.xml", "slow.xml"]
    reason = (folder / "rejected" / "bad.xml.reason").read_text()
    assert reason.startswith("xml: malformed XML")
    assert [p.name for p in folder.iterdir() if p.is_file()] == []
    with manager.runtime.sessions() as s:  # the listener beats like every job
        beat = s.scalar(select(JobHeartbeat).where(JobHeartbeat.name == "alerts-folder"))
        assert beat is not None and beat.state == "ok"


def test_folder_a_file_moved_in_from_another_folder_is_read(manager, listeners):
    # A lone IN_MOVED_TO (the file written elsewhere, as a poller or a Maildir-style client
    # does): watchdog's default observer reports it as a bare creation, which was ignored.
    folder = manager.runtime.config.folders.voevents
    listener = FolderListener(manager, folder)
    listeners.append(listener.start())
    wait_for(listener.connected.is_set, what="folder watch")
    write_from_another_process(MXT, folder / "moved.xml", "move")
    wait_for(lambda: (folder / "processed" / "moved.xml").exists(), 10, what="moved file read")
    assert alerts(manager)[ivorn_of(MXT)].source == "folder"


def test_folder_files_present_at_start_are_processed(manager, listeners):
    folder = manager.runtime.config.folders.voevents
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(SVOM, folder / "waiting.xml")
    import os

    os.utime(folder / "waiting.xml", (1, 1))  # written long ago
    listeners.append(FolderListener(manager, folder).start())
    wait_for(lambda: (folder / "processed" / "waiting.xml").exists(), what="catch-up")
    assert ivorn_of(SVOM) in alerts(manager)


def test_folder_a_file_closed_just_before_the_watch_starts_is_processed(manager, listeners):
    # Its close event came before the watch: no event will ever come, and at start it was too
    # young to be taken as complete. It used to wait for the next restart.
    folder = manager.runtime.config.folders.voevents
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(SVOM, folder / "fresh.xml")  # mtime: now
    listeners.append(FolderListener(manager, folder).start())
    wait_for(lambda: (folder / "processed" / "fresh.xml").exists(), 10, what="settled file")
    assert alerts(manager)[ivorn_of(SVOM)].source == "folder"


# -- VTP: Comet and pygcn-serve --------------------------------------------------------------


@pytest.fixture
def comet(tmp_path):
    receive, broadcast = free_port(), free_port()
    log = tmp_path / "comet.log"
    proc = subprocess.Popen(
        [
            str(BIN / "twistd"),
            "-n",
            f"--pidfile={tmp_path / 'comet.pid'}",
            "--logfile",
            str(log),
            "comet",
            "--receive",
            "--receive-port",
            str(receive),
            "--broadcast",
            "--broadcast-port",
            str(broadcast),
            "--local-ivo",
            "ivo://test.pyros/broker",
            "--eventdb",
            str(tmp_path / "eventdb"),
            "--broadcast-test-interval",
            "0",
            "--author-whitelist",
            "127.0.0.1/32",
            "--subscriber-whitelist",
            "127.0.0.1/32",
            "-v",
            "-v",
        ],
        cwd=tmp_path,
    )
    wait_for(
        lambda: "Starting factory" in log.read_text() if log.exists() else False, what="comet up"
    )
    yield receive, broadcast, log
    stop_process(proc)


def send_vo(port: int, path: Path) -> int:
    return subprocess.run(
        [str(BIN / "comet-sendvo"), "-h", "127.0.0.1", "-p", str(port), "-f", str(path)],
        capture_output=True,
        timeout=60,
    ).returncode


def test_vtp_against_comet_authenticates_stores_and_acks_every_event(manager, listeners, comet):
    receive, broadcast, log = comet
    listener = VtpListener(manager, "127.0.0.1", broadcast, "ivo://test.pyros/alerts")
    listeners.append(listener.start())
    wait_for(lambda: "Authentication received" in log.read_text(), what="authenticate answer")
    assert send_vo(receive, SVOM) == 0
    assert send_vo(receive, MXT) == 0
    got = wait_for(lambda: len(alerts(manager)) == 2 and alerts(manager), what="2 alerts")
    assert {a.source for a in got.values()} == {"vtp"}
    wait_for(lambda: log.read_text().count("Ack received") >= 2, what="2 acks at the broker")
    assert "Nak received" not in log.read_text()


def test_vtp_ivorn_filter_keeps_only_matching_events(manager, listeners, comet):
    receive, broadcast, log = comet
    listener = VtpListener(
        manager,
        "127.0.0.1",
        broadcast,
        "ivo://test.pyros/alerts",
        ivorn_filters=("ivo://org.svom/fsc#sb26022501",),
    )
    listeners.append(listener.start())
    wait_for(lambda: "Authentication received" in log.read_text(), what="authenticate answer")
    assert send_vo(receive, SVOM) == 0
    assert send_vo(receive, MXT) == 0
    wait_for(lambda: log.read_text().count("Ack received") >= 2, what="both acked")
    wait_for(lambda: ivorn_of(MXT) in alerts(manager), what="the MXT alert")
    assert ivorn_of(SVOM) not in alerts(manager)


def test_vtp_against_pygcn_serve_reconnects_survives_bad_frames_and_records_repeats_once(
    manager, listeners, tmp_path, caplog
):
    port = free_port()
    listener = VtpListener(manager, "127.0.0.1", port, "ivo://test.pyros/alerts", backoff_max_s=0.2)
    listeners.append(listener.start())  # before the server: refused, then back-off
    wait_for(lambda: listener.failures >= 3, what="three refused connections")
    refused = [r for r in caplog.records if "Connection refused" in r.getMessage()]
    assert len(refused) == 1  # one line per distinct error, not one per attempt
    bad = tmp_path / "bad.xml"
    bad.write_bytes(b"<voe:VOEvent ivorn='x'>")
    server = subprocess.Popen(
        [str(BIN / "pygcn-serve"), "--host", f"127.0.0.1:{port}", "-t", "1", str(bad), str(SVOM),
         str(MXT)],
        cwd=tmp_path,
    )  # fmt: skip
    try:
        got = wait_for(lambda: len(alerts(manager)) == 3 and alerts(manager), what="3 frames")
        rejected = [a for a in got.values() if a.status == "rejected"]
        assert len(rejected) == 1 and rejected[0].reason.startswith("rejected: xml: malformed")
        # the server repeats its payloads: still three alerts, each acted on once
        wait_for(lambda: listener.connected.is_set(), what="connected")
        with manager.runtime.sessions() as s:
            assert len(list(s.scalars(select(Alert)))) == 3
    finally:
        stop_process(server)


# -- GCN Kafka: librdkafka mock cluster + kcat -----------------------------------------------

MOCK = textwrap.dedent("""
    import sys, confluent_kafka
    p = confluent_kafka.Producer({"test.mock.num.brokers": 1})
    md = p.list_topics(timeout=10)
    b = next(iter(md.brokers.values()))
    print(f"{b.host}:{b.port}", flush=True)
    sys.stdin.read()  # lives until the test closes stdin
""")


@pytest.fixture
def kafka_cluster():
    proc = subprocess.Popen(
        [sys.executable, "-c", MOCK], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    address = proc.stdout.readline().strip()
    yield address
    proc.stdin.close()
    stop_process(proc)


@pytest.mark.skipif(shutil.which("kcat") is None, reason="Debian kcat not installed")
def test_kafka_json_notices_from_kcat_are_stored_and_committed(
    manager, listeners, kafka_cluster, tmp_path
):
    topic = "gcn.notices.einstein_probe.wxt.alert"
    for name in ("ep__alert__alert_247.json", "ep__alert__alert_248.json"):
        subprocess.run(
            ["kcat", "-b", kafka_cluster, "-t", topic, "-P", str(VOEVENTS / name)],
            check=True,
            timeout=30,
        )
    cfg = KafkaAlertsConfig(
        enabled=True,
        topics=(topic,),
        bootstrap_servers=kafka_cluster,
        security_protocol="plaintext",
        group_id="pyros-test",
    )
    listener = KafkaListener(manager, cfg)
    listeners.append(listener.start())
    got = wait_for(
        lambda: len(alerts(manager)) == 2 and alerts(manager), timeout_s=60, what="2 Kafka alerts"
    )
    assert {a.source for a in got.values()} == {"kafka"}
    assert {a.trigger_id for a in got.values()} == {"EP:01709259773", "EP:01709259790"}
    listener.stop()
    # committed: a new consumer of the same group gets nothing again
    import confluent_kafka

    consumer = confluent_kafka.Consumer(
        {
            "bootstrap.servers": kafka_cluster,
            "group.id": "pyros-test",
            "auto.offset.reset": "earliest",
        }
    )
    consumer.subscribe([topic])
    try:
        polled = [consumer.poll(1.0) for _ in range(8)]
        assert [m for m in polled if m is not None and m.error() is None] == []
    finally:
        consumer.close()


# -- the alert simulator towards real peers ---------------------------------------------------


def test_replay_as_a_vtp_author_through_comet_reaches_the_listener(
    manager, listeners, comet, tmp_path
):
    receive, broadcast, log = comet
    listener = VtpListener(manager, "127.0.0.1", broadcast, "ivo://test.pyros/alerts")
    listeners.append(listener.start())
    wait_for(lambda: "Authentication received" in log.read_text(), what="authenticate answer")
    # --as-is: the CLI runs on the real clock, the listener's manager on the test's
    done = pyros(
        "alerts", "replay", str(SVOM), "--as-is", "--to", f"vtp 127.0.0.1:{receive}", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert "broker answered ack" in done.stdout
    got = wait_for(lambda: alerts(manager), what="the replayed alert")
    (alert,) = got.values()
    assert alert.source == "vtp" and alert.ivorn == ivorn_of(SVOM)


@pytest.mark.skipif(shutil.which("kcat") is None, reason="Debian kcat not installed")
def test_replay_to_kafka_reaches_the_listener(manager, listeners, kafka_cluster, tmp_path):
    topic = "gcn.notices.pyros.replay"
    done = pyros(
        "alerts",
        "replay",
        str(VOEVENTS / "ep__alert__alert_248.json"),
        "--as-is",
        "--to",
        f"kafka {kafka_cluster}",
        "--topic",
        topic,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    cfg = KafkaAlertsConfig(
        enabled=True,
        topics=(topic,),
        bootstrap_servers=kafka_cluster,
        security_protocol="plaintext",
        group_id="pyros-replay",
    )
    listeners.append(KafkaListener(manager, cfg).start())
    got = wait_for(lambda: alerts(manager), timeout_s=60, what="the replayed Kafka alert")
    (alert,) = got.values()
    assert alert.source == "kafka" and alert.trigger_id == "EP:01709259790"
