"""A TCP forwarder in front of the Alpaca simulator's mount, run as its own process by
`_alerts_slew.py`: it timestamps (time.time()) every slew request line it receives, before
forwarding it, and prints `slew UNIX RA_HOURS|-` on stdout. In its own process, its threads do
not compete for the orchestrator's GIL: the instant is when the mount's side gets the bytes.

    python bench/_recording_proxy.py TARGET_HOST TARGET_PORT   # prints "port N" first
"""

from __future__ import annotations

import re
import socket
import sys
import threading
import time

SLEW_LINE = re.compile(rb"PUT /api/v1/telescope/\d+/slewto(?:coordinates|target)async")
RA_FIELD = re.compile(rb"RightAscension=([0-9.eE+-]+)")
_print_lock = threading.Lock()


def pipe(source: socket.socket, sink: socket.socket, record: bool) -> None:
    tail = b""  # a request line may straddle two reads
    try:
        while chunk := source.recv(65536):
            if record:
                now = time.time()
                seen = tail + chunk
                for match in SLEW_LINE.finditer(seen):  # the body follows in the same send
                    ra = RA_FIELD.search(seen, match.end())
                    with _print_lock:
                        print(f"slew {now:.6f} {ra.group(1).decode() if ra else '-'}", flush=True)
                tail = seen[-80:] if not SLEW_LINE.search(seen[-80:]) else b""
            sink.sendall(chunk)
    except OSError:
        pass
    finally:
        for s in (source, sink):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def main() -> None:
    target = (sys.argv[1], int(sys.argv[2]))
    server = socket.create_server(("127.0.0.1", 0))
    print(f"port {server.getsockname()[1]}", flush=True)
    while True:
        client, _ = server.accept()
        upstream = socket.create_connection(target)
        for a, b, record in ((client, upstream, True), (upstream, client, False)):
            threading.Thread(target=pipe, args=(a, b, record), daemon=True).start()


if __name__ == "__main__":
    main()
