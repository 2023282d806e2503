"""One PyIndi client per indiserver address, shared by the devices it serves.

PyIndi 2.x calls back only `updateProperty` (and newProperty/removeProperty): BLOBs (camera
images) are kept here as they arrive, counted per device so a camera can tell a new image from
the last one. Properties arrive asynchronously after connecting, so every read waits for its
property with a deadline instead of sleeping.
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Callable
from typing import Any

import PyIndi

from orchestrator.devices.errors import DeviceError, DeviceOffline
from orchestrator.devices.waiting import poll_until

_KIND_GETTERS = {"number": "getNumber", "switch": "getSwitch", "text": "getText", "blob": "getBLOB"}
_CLIENTS: dict[str, IndiClient] = {}
_CLIENTS_LOCK = threading.Lock()
WAIT_INTERVAL_S = 0.05


class IndiClient(PyIndi.BaseClient):
    def __init__(self, host: str, port: int):
        super().__init__()
        self.host, self.port = host, port
        self.setServer(host, port)
        self._blob_lock = threading.Lock()
        self._blobs: dict[str, tuple[int, bytes, str]] = {}  # device -> (count, bytes, format)
        # Our own view of the link: with the bundled libindiclient 2.1.2, isServerConnected()
        # stays True after the server went away; serverDisconnected() is what tells.
        self.link_up = False

    # PyIndi callbacks (its own thread) --------------------------------------------------
    def updateProperty(self, prop: Any) -> None:
        if prop.getType() == PyIndi.INDI_BLOB:
            blob = PyIndi.PropertyBlob(prop)
            for widget in blob:
                data = widget.getblobdata()
                if data:
                    with self._blob_lock:
                        count = self._blobs.get(prop.getDeviceName(), (0, b"", ""))[0] + 1
                        self._blobs[prop.getDeviceName()] = (
                            count,
                            bytes(data),
                            widget.getFormat(),
                        )

    def newProperty(self, prop: Any) -> None:
        pass

    def removeProperty(self, prop: Any) -> None:
        pass

    def newMessage(self, device: Any, message_id: int) -> None:
        pass

    def serverConnected(self) -> None:
        self.link_up = True

    def serverDisconnected(self, code: int) -> None:
        self.link_up = False

    # Our side ---------------------------------------------------------------------------
    def blob(self, device: str) -> tuple[int, bytes, str]:
        with self._blob_lock:
            return self._blobs.get(device, (0, b"", ""))

    def ensure_server(self, role: str, timeout_s: float) -> None:
        if self.link_up:
            return
        self.disconnectServer()  # clears a dead link the library still believes in
        if not self.connectServer():
            raise DeviceError(role, "connect", f"indiserver {self.host}:{self.port} unreachable")
        poll_until(lambda: self.link_up, timeout_s, role, "connect to indiserver")


def close_all() -> None:
    """Disconnect every client (at exit: a live client thread aborts the interpreter)."""
    with _CLIENTS_LOCK:
        for client in _CLIENTS.values():
            client.disconnectServer()
        _CLIENTS.clear()


atexit.register(close_all)


def client_for(host: str, port: int) -> IndiClient:
    key = f"{host}:{port}"
    with _CLIENTS_LOCK:
        if key not in _CLIENTS:
            _CLIENTS[key] = IndiClient(host, port)
        return _CLIENTS[key]


class IndiProperties:
    """Reads and writes of one INDI device's properties, each with a deadline."""

    def __init__(self, client: IndiClient, device_name: str, role: str, timeout_s: float):
        self.client = client
        self.name = device_name
        self.role = role
        self.timeout_s = timeout_s

    def device(self) -> Any:
        found: dict[str, Any] = {}

        def present() -> bool:
            dev = self.client.getDevice(self.name)
            if dev is not None and dev.isValid():
                found["dev"] = dev
                return True
            return False

        poll_until(present, self.timeout_s, self.role, f"find INDI device {self.name!r}")
        return found["dev"]

    def online(self) -> None:
        """Refuse to read cached values once the server link is gone (they would be stale)."""
        if not self.client.link_up:
            raise DeviceOffline(
                self.role, "read", f"lost indiserver {self.client.host}:{self.client.port}"
            )

    def get(self, kind: str, prop: str, timeout_s: float | None = None) -> Any:
        """The property, waiting for it to be defined (drivers define them after CONNECT)."""
        self.online()
        found: dict[str, Any] = {}
        getter = _KIND_GETTERS[kind]

        def present() -> bool:
            dev = self.client.getDevice(self.name)
            value = getattr(dev, getter)(prop) if dev is not None else None
            if value is not None and value.isValid():
                found["prop"] = value
                return True
            return False

        poll_until(
            present,
            self.timeout_s if timeout_s is None else timeout_s,
            self.role,
            f"read INDI property {prop}",
            WAIT_INTERVAL_S,
        )
        return found["prop"]

    def has(self, kind: str, prop: str) -> bool:
        self.online()
        dev = self.client.getDevice(self.name)
        value = getattr(dev, _KIND_GETTERS[kind])(prop) if dev is not None else None
        return bool(value is not None and value.isValid())

    def numbers(self, prop: str) -> dict[str, float]:
        return {w.getName(): w.getValue() for w in self.get("number", prop)}

    def switches_on(self, prop: str) -> set[str]:
        return {w.getName() for w in self.get("switch", prop) if w.getState() == PyIndi.ISS_ON}

    def texts(self, prop: str) -> dict[str, str]:
        return {w.getName(): w.getText() for w in self.get("text", prop)}

    def state(self, kind: str, prop: str) -> int:
        return self.get(kind, prop).getState()

    def set_numbers(self, prop: str, values: dict[str, float]) -> None:
        vector = self.get("number", prop)
        for name, value in values.items():
            widget = vector.findWidgetByName(name)
            if widget is None:
                raise DeviceError(self.role, f"set {prop}", f"no element {name}")
            widget.setValue(float(value))
        # Mark our copy Busy: the driver's answer (Ok, Busy then Ok, or Alert) replaces it,
        # so a wait for "not Busy" cannot see the state from before the request.
        vector.setState(PyIndi.IPS_BUSY)
        self.client.sendNewNumber(vector)

    def set_switch(self, prop: str, on: str) -> None:
        vector = self.get("switch", prop)
        widget = vector.findWidgetByName(on)
        if widget is None:
            raise DeviceError(self.role, f"set {prop}", f"no element {on}")
        vector.reset()
        widget.setState(PyIndi.ISS_ON)
        vector.setState(PyIndi.IPS_BUSY)
        self.client.sendNewSwitch(vector)

    def switch_to(self, prop: str, on: str, timeout_s: float, action: str) -> None:
        """Turn `on` on in the switch `prop` and wait until the driver reports it on, not Busy."""
        self.set_switch(prop, on)
        self.wait_idle("switch", prop, timeout_s, action, lambda: on in self.switches_on(prop))

    def wait_idle(
        self,
        kind: str,
        prop: str,
        timeout_s: float,
        action: str,
        check: Callable[[], bool] | None = None,
    ) -> None:
        """Wait until the property leaves Busy and `check()` holds; Alert is an error.

        The Busy mark set when sending is not enough alone: a periodic update sent by the
        driver before it saw our request can overwrite it, so callers pass a `check` on the
        values they asked for.
        """

        def done() -> bool:
            state = self.state(kind, prop)
            if state == PyIndi.IPS_ALERT:
                raise DeviceError(self.role, action, f"INDI {prop} went to Alert")
            return state != PyIndi.IPS_BUSY and (check is None or check())

        poll_until(done, timeout_s, self.role, action, WAIT_INTERVAL_S)
