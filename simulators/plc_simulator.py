"""PLC simulator: answers the seed's STATUS request over TCP like COLIBRI's Beckhoff PLC.

Request `{"command":[{"name":"STATUS"}]}`, answer the STATUS list of data/plc_status_dry.json
(one JSON document per line). A scenario (simulators.scenario) changes sensor values and
injects the faults the gateway must survive: invalid sensor, silence, dropped connections,
malformed answers. With a `WeatherModel` (simulators.weather) the weather varies on the clock;
a value a scenario or test sets is pinned and never varied again (rain is always forced).
Used by `pyros plc-sim`, `pyros start` and the gateway's tests.
"""

from __future__ import annotations

import copy
import json
import logging
import socket
import socketserver
import threading
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from orchestrator.clock import Clock, RealClock
from orchestrator.errors import InputError
from simulators.plc_commands import answer_command, lights_device
from simulators.scenario import Scenario, ScenarioPlayer
from simulators.weather import WeatherModel

log = logging.getLogger(__name__)
SIMULATOR_KEY = "plcSimulator"  # the scenario key of this simulator (seed format)
MAX_REQUEST_BYTES = 65536
TICK_S = 0.02  # how often scenario events are checked (real seconds)


def default_status() -> list[dict[str, Any]]:
    """The seed's dry-weather STATUS answer, quirks kept (invalid VantagePro, duplicated lamp)."""
    text = resources.files("simulators.data").joinpath("plc_status_dry.json").read_text()
    return json.loads(text)


class PlcSimulator:
    """A threaded TCP server; `start()` binds (port 0 = a free port), `stop()` closes all."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Clock | None = None,
        status: list[dict[str, Any]] | None = None,
        scenario: Scenario | None = None,
        weather: WeatherModel | None = None,
    ):
        self.host = host
        self.port = port
        self.clock = clock or RealClock()
        self._status = copy.deepcopy(status) if status is not None else default_status()
        self._scenario = scenario.for_simulator(SIMULATOR_KEY) if scenario else None
        self._player: ScenarioPlayer | None = None
        self.weather = weather
        self._pinned: set[tuple[str, str]] = set()  # values set by a scenario or a test
        self._lock = threading.Lock()
        self._silent_until: datetime | None = None
        self._malformed_left = 0
        self._malformed_text = '[{"name": "STATUS", "device": [{"name": "WXT52'
        self._connections: set[socket.socket] = set()
        self._server: socketserver.ThreadingTCPServer | None = None
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()
        self.requests_answered = 0

    # ---- life cycle -------------------------------------------------------------------
    def start(self) -> PlcSimulator:
        simulator = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                simulator._serve_connection(self.request)

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        server = socketserver.ThreadingTCPServer((self.host, self.port), Handler)
        server.daemon_threads = True
        self._server = server
        self.port = server.server_address[1]
        self._stop.clear()
        if self._scenario is not None:
            self._player = ScenarioPlayer(self._scenario, self.clock.now())
        self._threads = [
            threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True),
            threading.Thread(target=self._tick, daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        log.info("PLC simulator listening on %s:%s", self.host, self.port)
        return self

    def stop(self) -> None:
        """Stop listening and close every open connection (the PLC is switched off)."""
        self._stop.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        self.drop_connections()
        for thread in self._threads:
            thread.join(timeout=5)
        self._server = None

    def __enter__(self) -> PlcSimulator:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    # ---- what scenarios and tests change ----------------------------------------------
    def apply(self, action: Any) -> None:
        """Apply one `plcSimulator` scenario action; a bad one raises InputError."""
        if not isinstance(action, dict):
            raise InputError(SIMULATOR_KEY, f"action must be an object (got {action!r})")
        if "silent_s" in action:
            seconds = _number(action, "silent_s")
            with self._lock:
                self._silent_until = self.clock.now() + timedelta(seconds=seconds)
        elif "drop_connections" in action:
            self.drop_connections()
        elif "malformed" in action:
            with self._lock:
                self._malformed_left = int(_number(action, "malformed"))
                self._malformed_text = str(action.get("answer", self._malformed_text))
        elif "device_name" in action and "valid" in action:
            valid = action["valid"]
            if valid not in ("yes", "no"):
                raise InputError(f"{SIMULATOR_KEY}.valid", f"must be 'yes' or 'no' (got {valid!r})")
            with self._lock:
                self._device(action["device_name"])["valid"] = valid
        elif {"device_name", "value_name", "value"} <= action.keys():
            self.set_value(action["device_name"], action["value_name"], action["value"])
        else:
            raise InputError(SIMULATOR_KEY, f"unknown action {action!r}")
        log.info("PLC simulator: applied %s", action)

    def set_value(self, device_name: str, value_name: str, value: Any) -> None:
        with self._lock:
            device = self._device(device_name)
            self._pinned.add((device_name, value_name))
            for item in device.setdefault("values", []):
                if item.get("name") == value_name:
                    item["value"] = value
                    return
            device["values"].append({"name": value_name, "value": value, "unit": "", "comment": ""})

    def set_lights(self, value: str) -> None:
        """The site lights (the `LIGHTS` command): a SITE_LIGHTS device in STATUS."""
        with self._lock:
            devices = self._status[0].setdefault("device", [])
            devices[:] = [d for d in devices if d.get("name") != lights_device(value)["name"]]
            devices.append(lights_device(value))

    def drop_connections(self) -> None:
        with self._lock:
            connections, self._connections = list(self._connections), set()
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()

    def _device(self, name: str) -> dict[str, Any]:
        for device in self._status[0].get("device", []):
            if device.get("name") == name:
                return device
        raise InputError(f"{SIMULATOR_KEY}.device_name", f"no device named {name!r}")

    # ---- serving ------------------------------------------------------------------------
    def _tick(self) -> None:
        while not self._stop.wait(TICK_S):
            if self._player is None:
                continue
            for event in self._player.due(self.clock.now()):
                try:
                    self.apply(event.action)
                except InputError as exc:
                    log.error(
                        "PLC simulator: scenario event at %s s ignored: %s", event.time_s, exc
                    )

    def _serve_connection(self, conn: socket.socket) -> None:
        with self._lock:
            self._connections.add(conn)
        buffer = b""
        decoder = json.JSONDecoder()
        try:
            while not self._stop.is_set():
                chunk = conn.recv(4096)
                if not chunk:
                    return
                buffer += chunk
                while buffer.strip():
                    text = buffer.decode("utf-8", errors="replace").lstrip()
                    try:
                        request, end = decoder.raw_decode(text)
                    except json.JSONDecodeError:
                        if b"\n" not in buffer and len(buffer) < MAX_REQUEST_BYTES:
                            break  # wait for the rest of the request
                        buffer = buffer.split(b"\n", 1)[1] if b"\n" in buffer else b""
                        self._send(conn, [{"name": "ERROR", "message": "request is not JSON"}])
                        continue
                    buffer = text[end:].encode()
                    self._answer(conn, request)
        except OSError:
            return
        finally:
            with self._lock:
                self._connections.discard(conn)
            conn.close()

    def _answer(self, conn: socket.socket, request: Any) -> None:
        with self._lock:
            if self._silent_until is not None and self.clock.now() < self._silent_until:
                return  # a hung PLC: the request is read and never answered
            if self._malformed_left > 0:
                self._malformed_left -= 1
                conn.sendall(self._malformed_text.encode() + b"\n")
                return
        if _is_status_request(request):
            self._send(conn, self.status_answer())
        elif (answer := answer_command(self, request)) is not None:
            self._send(conn, answer)
        else:
            self._send(conn, [{"name": "ERROR", "message": "unknown command; send STATUS"}])

    def status_answer(self) -> list[dict[str, Any]]:
        """The STATUS answer at the clock's time (the weather varied, forced values kept)."""
        with self._lock:
            now = self.clock.now()
            self._status[0]["date"] = now.strftime("%Y-%m-%dT%H:%M:%S")
            if self.weather is not None:
                self._vary(now)
            return copy.deepcopy(self._status)

    def _vary(self, now: datetime) -> None:
        """Put the weather model's values in the answer, except the pinned ones (lock held)."""
        values = self.weather.values(now) if self.weather is not None else {}
        for device in self._status[0].get("device", []):
            for item in device.get("values", []):
                key = (device.get("name"), item.get("name"))
                if key in values and key not in self._pinned:
                    item["value"] = values[key]

    def _send(self, conn: socket.socket, answer: Any) -> None:
        conn.sendall(json.dumps(answer).encode() + b"\n")
        self.requests_answered += 1


def _is_status_request(request: Any) -> bool:
    if not isinstance(request, dict) or not isinstance(request.get("command"), list):
        return False
    return any(isinstance(c, dict) and c.get("name") == "STATUS" for c in request["command"])


def _number(action: dict, key: str) -> float:
    value = action[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise InputError(f"{SIMULATOR_KEY}.{key}", f"must be a number >= 0 (got {value!r})")
    return float(value)


def run_plc_simulator(
    host: str,
    port: int,
    scenario_path: Path | None,
    stop: threading.Event,
    clock: Clock,
    weather: WeatherModel | None = None,
) -> None:
    """`pyros plc-sim`: serve until `stop` is set; scenario times run on `clock`."""
    from simulators.scenario import load_scenario

    scenario = load_scenario(scenario_path) if scenario_path else None
    simulator = PlcSimulator(host, port, clock=clock, scenario=scenario, weather=weather).start()
    print(
        f"PLC simulator on {simulator.address}"
        + (f", scenario {scenario_path}" if scenario_path else ""),
        flush=True,
    )
    try:
        stop.wait()
    finally:
        simulator.stop()
