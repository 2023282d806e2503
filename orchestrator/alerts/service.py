"""Wiring of the alert manager into the orchestrator process: one manager, its listeners.

`alert_job_specs(runtime, on_urgent)` gives the orchestrator one periodic job that starts the
configured listeners and restarts any whose thread died; `start_listeners` does it directly.
`on_urgent(sequence_id, reason)` is the majordome's pre-emption (`Majordome.preempt`).
"""

from __future__ import annotations

import atexit
import logging
import threading

from orchestrator.alerts.listeners.base import Listener
from orchestrator.alerts.listeners.folder import FolderListener
from orchestrator.alerts.listeners.kafka import KafkaListener
from orchestrator.alerts.listeners.vtp import VtpListener
from orchestrator.alerts.manager import AlertManager, SequenceCallback
from orchestrator.runtime import Runtime

log = logging.getLogger(__name__)
SUPERVISE_PERIOD_S = 10.0


def make_listeners(manager: AlertManager) -> list[Listener]:
    """The listeners the `[alerts]` section asks for, not started."""
    config = manager.runtime.config
    cfg = config.alerts
    backoff = cfg.reconnect_max_s
    listeners: list[Listener] = []
    if cfg.folder_enabled:
        listeners.append(FolderListener(manager, config.folders.voevents, backoff))
    for broker in cfg.vtp_brokers:
        host, port = broker.host_port
        listeners.append(
            VtpListener(manager, host, port, cfg.vtp_local_ivorn, cfg.vtp_ivorn_filters, backoff)
        )
    if cfg.kafka.enabled and cfg.kafka.topics:
        listeners.append(KafkaListener(manager, cfg.kafka, backoff))
    return listeners


def start_listeners(
    runtime: Runtime,
    on_urgent: SequenceCallback | None = None,
    on_cancel: SequenceCallback | None = None,
) -> list[Listener]:
    manager = AlertManager(runtime, on_urgent=on_urgent, on_cancel=on_cancel)
    listeners = [listener.start() for listener in make_listeners(manager)]
    threading.Thread(target=_warm_up, args=(manager,), name="alerts-warm-up", daemon=True).start()
    return listeners


def _warm_up(manager: AlertManager) -> None:
    try:
        manager.warm_up()
    except Exception:  # noqa: BLE001 - a cold first alert is slower, not lost
        log.warning("alert manager warm-up failed", exc_info=True)


class ListenerSupervisor:
    """A periodic job: starts the listeners once, then restarts a listener whose thread died."""

    def __init__(self, runtime: Runtime, on_urgent, on_cancel=None):
        self.runtime, self.on_urgent, self.on_cancel = runtime, on_urgent, on_cancel
        self.listeners: list[Listener] | None = None

    def __call__(self) -> None:
        if self.listeners is None:
            self.listeners = start_listeners(self.runtime, self.on_urgent, self.on_cancel)
            atexit.register(self.stop)  # close sockets and the Kafka consumer cleanly
            return
        for listener in self.listeners:
            alive = listener.thread is not None and listener.thread.is_alive()
            if not alive and not listener.stop_event.is_set():
                log.warning("%s: thread ended, restarting it", listener.name)
                listener.start()

    def stop(self) -> None:
        for listener in self.listeners or []:
            listener.stop()


def alert_job_specs(
    runtime: Runtime, on_urgent: SequenceCallback | None = None, on_cancel=None
) -> list:
    from orchestrator.jobs import JobSpec

    return [
        JobSpec("alerts", SUPERVISE_PERIOD_S, ListenerSupervisor(runtime, on_urgent, on_cancel))
    ]
