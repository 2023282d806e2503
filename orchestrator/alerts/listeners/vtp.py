"""VOEvent Transport Protocol subscriber (GCN Classic, Comet): 4-byte big-endian length + XML.

Answers `authenticate` and `iamalive`; every event is stored, then acked (a subscriber acks
even an event it refuses, as Comet does: a nak would drop us from the broker's list); an event
whose IVORN cannot be read at all is nak'ed with the reason. Events outside the IVORN filters
are acked and ignored. One listener per broker.
"""

from __future__ import annotations

import logging
import socket
import struct
import threading
import time
from datetime import UTC, datetime

from lxml import etree

from orchestrator.alerts.listeners.base import Listener
from orchestrator.alerts.manager import AlertManager, Arrival, Received
from orchestrator.alerts.notice import NoticeRejected, safe_xml

log = logging.getLogger(__name__)
TRANSPORT_NS = "http://www.telescope-networks.org/xml/Transport/v1.1"
MAX_FRAME_BYTES = 100_000_000  # refuse (and drop the connection) beyond this
VOEVENT_ROLES = ("observation", "prediction", "utility", "test")


def frame(payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + payload


def transport(role: str, origin: str, response: str | None, result: str | None = None) -> bytes:
    """A Transport message (ack, nak, iamalive, authenticate) as VTP peers expect it."""
    root = etree.Element(
        f"{{{TRANSPORT_NS}}}Transport",
        nsmap={"trn": TRANSPORT_NS},
        attrib={"version": "1.0", "role": role},
    )
    etree.SubElement(root, "Origin").text = origin
    if response:
        etree.SubElement(root, "Response").text = response
    etree.SubElement(root, "TimeStamp").text = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if result:
        etree.SubElement(etree.SubElement(root, "Meta"), "Result").text = result
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def recv_exact(sock: socket.socket, n: int, stop: threading.Event) -> bytes:
    """Read `n` bytes, waking every second to notice `stop`; EOF raises ConnectionError."""
    chunks, left = [], n
    while left:
        if stop.is_set():
            raise InterruptedError("stopping")
        try:
            chunk = sock.recv(min(left, 1 << 20))
        except TimeoutError:
            if chunks or n > 4:
                continue  # mid-frame: keep waiting
            raise
        if not chunk:
            raise ConnectionError("connection closed by the broker")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


class VtpListener(Listener):
    def __init__(
        self,
        manager: AlertManager,
        host: str,
        port: int,
        local_ivorn: str,
        ivorn_filters: tuple[str, ...] = (),
        backoff_max_s: float = 60.0,
    ):
        super().__init__(manager, backoff_max_s)
        self.host, self.port = host, port
        self.name = f"alerts-vtp-{host}:{port}"
        self.local_ivorn = local_ivorn
        self.ivorn_filters = tuple(ivorn_filters)

    def serve(self, stop: threading.Event) -> None:
        with socket.create_connection((self.host, self.port), timeout=5.0) as sock:
            sock.settimeout(1.0)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.connected_ok()
            log.info("%s: connected", self.name)
            while not stop.is_set():
                self.beat()
                try:
                    header = recv_exact(sock, 4, stop)
                except TimeoutError:
                    continue
                except InterruptedError:
                    return
                (length,) = struct.unpack(">I", header)
                if length > MAX_FRAME_BYTES:
                    raise ConnectionError(f"frame of {length} bytes announced: dropped")
                payload = recv_exact(sock, length, stop)
                arrived = (time.perf_counter(), time.time())  # the frame's last byte
                self.on_frame(sock, payload, arrived)

    def on_frame(self, sock: socket.socket, payload: bytes, arrived: tuple[float, float]) -> None:
        try:
            root = safe_xml(payload)
            role, ivorn = root.get("role", ""), root.get("ivorn", "")
        except NoticeRejected:
            root, role, ivorn = None, "", ""
        if root is not None and etree.QName(root).localname == "Transport":
            origin = root.findtext("Origin") or ""
            if role == "iamalive":
                sock.sendall(frame(transport("iamalive", origin, self.local_ivorn)))
            elif role == "authenticate":
                sock.sendall(frame(transport("authenticate", origin, self.local_ivorn)))
            else:
                log.debug("%s: transport message %r ignored", self.name, role)
            return
        if ivorn and self.ivorn_filters and not ivorn.startswith(self.ivorn_filters):
            sock.sendall(frame(transport("ack", ivorn, self.local_ivorn)))
            return
        if root is not None and role and role not in VOEVENT_ROLES:
            log.debug("%s: message of role %r ignored", self.name, role)
            return
        arrival = Arrival(payload, "vtp", f"{self.host}:{self.port}", *arrived)

        def ack(received: Received) -> None:  # stored first: now the broker may forget it
            if ivorn:
                sock.sendall(frame(transport("ack", ivorn, self.local_ivorn)))
            else:
                reason = str(received.rejected or "no IVORN")
                sock.sendall(frame(transport("nak", "", self.local_ivorn, reason)))

        self.manager.handle(arrival, ack)
