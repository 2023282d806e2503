"""The alert simulator: send notice files to PyROS as a real source would.

`--to folder` writes into `folders.voevents` atomically (hidden name, then rename), `vtp` acts
as a VTP author towards a broker's receive port (Comet) and waits for its ack, `kafka` produces
to a topic. `fresh=True` makes an old notice new: trigger time = now, a unique IVORN/id.
"""

from __future__ import annotations

import itertools
import json
import os
import socket
import struct
import time
from datetime import datetime
from pathlib import Path

from lxml import etree

from orchestrator.alerts.listeners.vtp import frame, recv_exact
from orchestrator.alerts.notice import NoticeRejected, safe_xml
from orchestrator.errors import InputError

_counter = itertools.count(1)


def parse_target(to: str) -> tuple[str, str | None]:
    """'folder', 'vtp HOST:PORT' or 'kafka ADDR' -> (kind, address)."""
    kind, _, address = to.strip().partition(" ")
    address = address.strip() or None
    if kind not in ("folder", "vtp", "kafka"):
        raise InputError("--to", f"must be folder, 'vtp HOST:PORT' or 'kafka ADDR' (got {to!r})")
    if kind != "folder" and not address:
        raise InputError("--to", f"{kind} needs an address, e.g. '{kind} 127.0.0.1:8098'")
    if kind == "vtp":
        host, sep, port = address.rpartition(":")
        if not sep or not port.isdigit():
            raise InputError("--to", f"vtp address must be HOST:PORT (got {address!r})")
    return kind, address


def parse_offsets(text: str | None, count: int) -> list[float]:
    """'0,5,12.5' -> seconds after the start, one per file; none = all at once."""
    if not text:
        return [0.0] * count
    try:
        offsets = [float(x) for x in text.split(",")]
    except ValueError:
        raise InputError("--at", f"must be comma-separated seconds (got {text!r})") from None
    if len(offsets) != count or any(o < 0 for o in offsets):
        raise InputError("--at", f"needs {count} offsets >= 0, one per file (got {text!r})")
    return offsets


def freshen(payload: bytes, now: datetime) -> bytes:
    """The same notice as if it had just happened: trigger time now, a new unique IVORN/id."""
    tag = f"r{os.getpid()}x{next(_counter)}x{int(time.time() * 1000) % 10**9}"
    stamp = now.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
    if payload.lstrip().startswith(b"{"):
        data = json.loads(payload)
        data["trigger_time"] = stamp + "Z"
        ids = data.get("id")
        data["id"] = [f"{i}-{tag}" for i in ids] if isinstance(ids, list) else f"{ids}-{tag}"
        return json.dumps(data).encode()
    try:
        root = safe_xml(payload)
    except NoticeRejected as exc:
        raise InputError("file", f"cannot freshen: {exc}") from None
    root.set("ivorn", root.get("ivorn", "ivo://pyros/replay#x") + "-" + tag)
    for iso in root.iter("{*}ISOTime"):
        iso.text = stamp
    for param in root.iter("{*}Param"):  # the trigger id groups updates of one event
        if param.get("name") in ("Burst_Id", "TrigID", "GraceID"):
            param.set("value", f"{param.get('value')}-{tag}")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def to_folder(folder: Path, name: str, payload: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    hidden = folder / f".{name}.part"
    hidden.write_bytes(payload)
    target = folder / name
    n = 1
    while target.exists():
        target = folder / f"{Path(name).stem}.{n}{Path(name).suffix}"
        n += 1
    hidden.rename(target)  # the listener sees a complete file appear
    return target


def to_vtp(address: str, payload: bytes, timeout_s: float = 30.0) -> str:
    """Publish as a VTP author; returns the broker's answer role (ack or nak)."""
    import threading

    host, _, port = address.rpartition(":")
    with socket.create_connection((host, int(port)), timeout=timeout_s) as sock:
        sock.sendall(frame(payload))
        (length,) = struct.unpack(">I", recv_exact(sock, 4, threading.Event()))
        answer = safe_xml(recv_exact(sock, length, threading.Event()))
        return answer.get("role", "")


def to_kafka(address: str, topic: str, payload: bytes) -> None:
    import confluent_kafka

    producer = confluent_kafka.Producer(
        {"bootstrap.servers": address, "security.protocol": "plaintext"}
    )
    producer.produce(topic, payload)
    if producer.flush(30) != 0:
        raise InputError("--to", f"kafka {address}: message not delivered in 30 s")
