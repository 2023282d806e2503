"""Real device peers for the tests: the alpaca-simulators package and indiserver.

Each is started once per session on a free port and torn down (and waited for) at the end.
`tests/conftest.py` imports the fixtures so every test folder sees the same instances.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from orchestrator.config import default_config_text, parse_config
from tests.helpers import free_port, stop_process, wait_for

INDI_DRIVERS = (
    "indi_simulator_telescope",
    "indi_simulator_ccd",
    "indi_simulator_dome",
    "indi_simulator_wheel",
    "indi_simulator_focus",
)
INDI_NAMES = {
    "mount": "Telescope Simulator",
    "dome": "Dome Simulator",
    "camera_vis": "CCD Simulator",
    "filterwheel_vis": "Filter Simulator",
    "focuser": "Focuser Simulator",
}
SHUTTERLESS_CAMERA = 2  # device number of a camera without shutter, added to the test YAML


@dataclass
class Peer:
    host: str
    port: int
    process: subprocess.Popen
    folder: Path

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=2) as answer:
        return answer.read()


@pytest.fixture(scope="session")
def alpaca_simulator(tmp_path_factory) -> Peer:
    """alpaca-simulators with our shipped YAML (+ a shutterless camera #2), offline stars."""
    from simulators.alpaca_sim import prepare, simulator_argv

    folder = tmp_path_factory.mktemp("alpaca-sim")
    site = parse_config(default_config_text(), folder).site
    yaml_path = prepare(folder, site)
    settings = yaml.safe_load(yaml_path.read_text())
    shutterless = dict(settings["devices"]["camera"][1], hasshutter=False, name="no shutter")
    settings["devices"]["camera"][SHUTTERLESS_CAMERA] = shutterless
    yaml_path.write_text(yaml.safe_dump(settings, sort_keys=False))
    port = free_port()
    log = (folder / "simulator.log").open("w")
    process = subprocess.Popen(
        simulator_argv(yaml_path, "127.0.0.1", port), stdout=log, stderr=subprocess.STDOUT
    )
    peer = Peer("127.0.0.1", port, process, folder)
    try:
        wait_for(
            lambda: _get(f"http://{peer.address}/api/v1/telescope/0/name"),
            30,
            0.1,
            what="alpaca-simulators",
        )
        yield peer
    finally:
        stop_process(process)
        log.close()


def reset_alpaca(peer: Peer) -> None:
    """Reload the YAML: every device back to its initial state (parked, closed, ...), and wait
    until no camera is still busy with an exposure a previous test aborted (under load its
    thread can outlive the reload for a moment: the next StartExposure was refused)."""
    _get(f"http://{peer.address}/reload")
    wait_for(lambda: not _busy_cameras(peer), 30, what="alpaca-simulators cameras idle")


def _busy_cameras(peer: Peer) -> list[int]:
    busy = []
    for number in range(3):  # the shipped YAML's cameras (#2: shutterless)
        url = f"http://{peer.address}/api/v1/camera/{number}/camerastate?ClientID=1"
        try:
            answer = json.loads(_get(url))
        except (OSError, ValueError):
            continue  # no such camera
        # not connected (an error answer) is not exposing; 0 is idle, 5 error
        if not answer.get("ErrorNumber") and answer.get("Value") not in (0, 5):
            busy.append(number)
    return busy


@pytest.fixture(scope="session")
def indi_server(tmp_path_factory) -> Peer:
    """indiserver with the five simulator drivers of Debian's indi-bin."""
    if shutil.which("indiserver") is None:
        pytest.fail("indiserver is not installed: run scripts/setup.sh (Debian package indi-bin)")
    folder = tmp_path_factory.mktemp("indi")
    port = free_port()
    log = (folder / "indiserver.log").open("w")
    process = subprocess.Popen(
        # -u: indiserver 1.9.9 also binds an abstract local socket, /tmp/indiserver by
        # default, so a second server on the machine (another test run) would exit at once.
        ["indiserver", "-p", str(port), "-u", f"/tmp/indiserver-{port}", *INDI_DRIVERS],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=folder,
        # Drivers keep their config and park data under $HOME/.indi: keep the test's apart.
        env={**os.environ, "HOME": str(folder)},
    )
    peer = Peer("127.0.0.1", port, process, folder)
    try:
        wait_for(
            lambda: socket.create_connection((peer.host, port), timeout=1).close() or True,
            20,
            0.1,
            what="indiserver",
        )
        yield peer
    finally:
        stop_process(process)
        log.close()


def device_toml(alpaca: str | None = None, indi: str | None = None, roles=None) -> str:
    """The [devices.*] tables for the peers: Alpaca roles at `alpaca`, or INDI at `indi`."""
    chunks = []
    for role, name in INDI_NAMES.items():
        if roles is not None and role not in roles:
            continue
        if indi is not None:
            chunks.append(
                f'[devices.{role}]\nadapter = "indi"\naddress = "{indi}"\n'
                f'device_name = "{name}"\ntimeout_s = 10\n'
            )
        else:
            chunks.append(f'[devices.{role}]\nadapter = "alpaca"\naddress = "{alpaca}"\n')
    for role in ("camera_nir", "filterwheel_nir"):  # the simulator's device #1 of each
        if indi is None and (roles is None or role in roles):
            chunks.append(
                f'[devices.{role}]\nadapter = "alpaca"\naddress = "{alpaca}"\ndevice_number = 1\n'
            )
    return "\n".join(chunks)


def config_text(devices_toml: str, extra: str = "") -> str:
    """The shipped default with only the roles of `devices_toml`: a config file is an overlay
    on the default, so every other default role is removed (`[devices] ROLE = false`)."""
    import re
    import tomllib

    text = default_config_text()
    head, _, tail = text.partition("[devices.mount]")
    rest = tail[tail.index("[simulators]") :]
    # Only the [simulators] section's own `enabled` (the alerts' and the pipeline's stay).
    section, _, after = rest.partition("\n\n[")
    section = section.replace("enabled = true ", "enabled = false", 1)
    simulators = section + ("\n\n[" + after if after else "")
    wanted = set(re.findall(r"^\[devices\.(\w+)\]", devices_toml, re.MULTILINE))
    others = sorted(set(tomllib.loads(text)["devices"]) - wanted)
    removed = "[devices]\n" + "".join(f"{role} = false\n" for role in others)
    return f"{head}{removed}\n{devices_toml}\n{simulators}\n{extra}"


class PausableProxy:
    """A TCP forwarder in front of a real peer that can stop answering (a hung device).

    While paused it accepts connections and reads requests but never answers, the way a
    device that has hung behind a live network stack behaves.
    """

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self._answering = threading.Event()
        self._answering.set()
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self._closing = False
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self._closing:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            self._sockets.append(client)
            if not self._answering.is_set():
                continue  # held open, never answered
            upstream = socket.create_connection(self.target)
            self._sockets.append(upstream)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                self._answering.wait()  # a paused proxy holds what it read
                sink.sendall(chunk)
        except OSError:
            pass

    def pause(self) -> None:
        self._answering.clear()

    def resume(self) -> None:
        self._answering.set()

    def close(self) -> None:
        self._answering.set()
        self._closing = True
        self.server.close()
        for s in self._sockets:
            s.close()
