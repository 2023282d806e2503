"""What every listener shares: its thread, a heartbeat, reconnection with back-off, and
logging each distinct error once (a broker down all night must not fill the log).
"""

from __future__ import annotations

import logging
import threading
import time

from orchestrator.alerts.manager import AlertManager

log = logging.getLogger(__name__)
HEARTBEAT_S = 10.0


class Listener:
    """Subclasses implement `serve(stop)`: connect, then loop calling `self.beat()` and
    returning (or raising) when the connection ends; `run` reconnects with back-off."""

    name = "alerts"

    def __init__(self, manager: AlertManager, backoff_max_s: float = 60.0):
        self.manager = manager
        self.runtime = manager.runtime
        self.backoff_max_s = backoff_max_s
        self.stop_event = threading.Event()
        self.thread: threading.Thread | None = None
        self.connected = threading.Event()
        self._last_beat = 0.0
        self._last_error = ""
        self._logged_errors: set[str] = set()
        self.failures = 0  # connections lost or refused since start

    def start(self) -> Listener:
        self.thread = threading.Thread(target=self.run, name=self.name, daemon=True)
        self.thread.start()
        return self

    def stop(self, timeout_s: float = 10.0) -> None:
        self.stop_event.set()
        if self.thread is not None:
            self.thread.join(timeout_s)

    def run(self) -> None:
        delay_s = 0.5
        while not self.stop_event.is_set():
            started = time.monotonic()
            try:
                self.serve(self.stop_event)
                error = ""
            except Exception as exc:  # noqa: BLE001 - any failure: reconnect after a delay
                error = f"{type(exc).__name__}: {exc}"
                self.failures += 1
                if error not in self._logged_errors:  # each distinct error logged once
                    self._logged_errors.add(error)
                    log.warning("%s: %s (reconnecting with back-off)", self.name, error)
            finally:
                self.connected.clear()
            self._last_error = error
            self.beat(force=True)
            if time.monotonic() - started > 30.0:  # it had worked for a while: start again fast
                delay_s = 0.5
            self.stop_event.wait(delay_s)
            delay_s = min(delay_s * 2, self.backoff_max_s)

    def serve(self, stop: threading.Event) -> None:
        raise NotImplementedError

    def beat(self, force: bool = False) -> None:
        """The listener's heartbeat row (every HEARTBEAT_S), so `pyros status` shows it alive."""
        now = time.monotonic()
        if not force and now - self._last_beat < HEARTBEAT_S:
            return
        self._last_beat = now
        from orchestrator.jobs import record_beat

        try:
            record_beat(self.runtime, self.name, HEARTBEAT_S, self._last_error)
        except Exception:  # noqa: BLE001 - the database down must not kill the listener
            log.debug("%s: heartbeat not stored", self.name, exc_info=True)

    def connected_ok(self) -> None:
        self.connected.set()
        self._last_error = ""
        self._logged_errors.clear()  # a new failure after recovery is worth a new line
