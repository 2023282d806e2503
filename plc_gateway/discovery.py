"""ASCOM Alpaca UDP discovery responder (Alpaca API v1, discovery protocol, IPv4).

A client broadcasts `alpacadiscovery1` to UDP port 32227 (config gateway.discovery_port);
we answer `{"AlpacaPort": n}` to the sender so it finds our HTTP server. The socket listens
on every interface (a socket bound to one address never sees broadcasts), but when the HTTP
server is on loopback only, only local senders get an answer: we never announce what they
cannot reach.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import socket
import threading

log = logging.getLogger(__name__)
DISCOVERY_MESSAGE = b"alpacadiscovery1"


class DiscoveryResponder:
    def __init__(self, host: str, port: int, alpaca_port: int):
        self.alpaca_port = int(alpaca_port)  # the Management API says integer; waitress gives a str
        self.local_only = _is_loopback(host)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("", port))
        self._sock.settimeout(0.2)  # so `stop()` is seen promptly
        self.port = self._sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="alpaca-discovery", daemon=True)

    def start(self) -> DiscoveryResponder:
        self._thread.start()
        log.info("Alpaca discovery on UDP %s", self.port)
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sock.close()

    def _serve(self) -> None:
        answer = json.dumps({"AlpacaPort": self.alpaca_port}).encode()
        while not self._stop.is_set():
            try:
                data, sender = self._sock.recvfrom(1024)
            except TimeoutError:
                continue
            except OSError:
                return
            if self.local_only and not _is_loopback(sender[0]):
                continue
            # Alpaca: the message starts with "alpacadiscovery" and a version digit.
            if data.startswith(DISCOVERY_MESSAGE):
                try:
                    self._sock.sendto(answer, sender)
                except OSError as exc:
                    log.warning("discovery answer to %s failed: %s", sender, exc)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: assume it is reachable from the network
