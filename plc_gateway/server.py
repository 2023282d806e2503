"""The gateway process: PLC poll job -> synthesis -> Alpaca server, plus the store jobs.

APScheduler jobs (`plc_poll` every plc.poll_period_s, `weather_store` every
gateway.store_period_s, `history_upkeep` every gateway.history_maintenance_period_s), the Alpaca
app on waitress (a production WSGI server) and the UDP discovery responder. `pyros gateway`
runs one; tests start one in-process with their clock.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy.orm import Session, sessionmaker

from orchestrator.clock import Clock
from orchestrator.config import Config
from plc_gateway.alpaca import create_alpaca_app
from plc_gateway.client import PlcClient, PlcError
from plc_gateway.discovery import DiscoveryResponder
from plc_gateway.history import maintain
from plc_gateway.store import WatchStore
from plc_gateway.synthesis import Synthesis, Synthesizer, unsafe_at_start

log = logging.getLogger(__name__)
MIN_PERIOD_S = 0.02  # the fastest the jobs run in real time, whatever the clock speed


class SafetyState:
    """The latest synthesis, shared by the poll job (writer) and the Alpaca server (readers)."""

    def __init__(self, clock: Clock, stale_after_s: float):
        self.clock = clock
        self.stale_after_s = stale_after_s
        self._synthesis = unsafe_at_start(clock.now())
        self._lock = threading.Lock()
        self.on_refresh = lambda: None

    def set(self, synthesis: Synthesis) -> None:
        with self._lock:
            self._synthesis = synthesis

    def current(self) -> Synthesis:
        with self._lock:
            synthesis = self._synthesis
        # Belt and braces: if polling itself stopped, the served answer goes unsafe too.
        age_s = (self.clock.now() - synthesis.measured).total_seconds()
        if synthesis.is_safe and age_s > self.stale_after_s:
            reason = f"synthesis is stale ({age_s:.0f} s old)"
            return Synthesis(
                synthesis.measured, False, (reason,), synthesis.elements, synthesis.site
            )
        return synthesis

    def now(self) -> datetime:
        return self.clock.now()

    def refresh(self) -> None:
        self.on_refresh()


class Gateway:
    def __init__(
        self,
        config: Config,
        clock: Clock,
        sessions: sessionmaker[Session] | None = None,
        plc_address: tuple[str, int] | None = None,
        port: int | None = None,
        discovery_port: int | None = None,
    ):
        self.config = config
        self.clock = clock
        host, plc_port = plc_address or config.plc.host_port
        self.client = PlcClient(host, plc_port, config.plc.timeout_s)
        self.synthesizer = Synthesizer(config.safety, config.plc.unsafe_after_failed_polls)
        self.state = SafetyState(clock, config.safety.stale_after_s)
        self.state.on_refresh = self._poll_soon
        self.sessions = sessions
        self.store = WatchStore(sessions, config.gateway.history_period_s) if sessions else None
        self.host = config.gateway.host
        self.port = config.gateway.port if port is None else port
        self.discovery_port = (
            config.gateway.discovery_port if discovery_port is None else discovery_port
        )
        self.discovery: DiscoveryResponder | None = None
        self._scheduler: BackgroundScheduler | None = None
        self._server = None
        self._server_thread: threading.Thread | None = None
        self._poll_lock = threading.Lock()
        self._last_error = ""
        self._last_store_error = ""

    # ---- jobs ------------------------------------------------------------------------
    def poll_once(self) -> Synthesis:
        """Read the PLC once and publish the new synthesis; never raises."""
        with self._poll_lock:
            try:
                status = self.client.read_status()
                error = ""
            except PlcError as exc:
                status, error = None, str(exc)
            except Exception as exc:  # a bug on a hostile answer: one refusal, never a traceback
                self.client.close()
                status, error = None, f"PLC {self.client.address}: {type(exc).__name__}: {exc}"
            error = error.splitlines()[0][:300] if error else ""
            if error and error != self._last_error:
                log.warning(
                    "%s (unsafe after %d failed polls in a row)",
                    error, self.config.plc.unsafe_after_failed_polls,
                )  # fmt: skip
            elif not error and self._last_error:
                log.info("PLC %s answers again", self.client.address)
            self._last_error = error
            if status is not None and status.warnings:
                log.debug("PLC answer: %s", "; ".join(status.warnings))
            synthesis = self.synthesizer.update(status, self.clock.now(), error)
            previous = self.state.current()
            self.state.set(synthesis)
            if previous.is_safe != synthesis.is_safe:
                log.warning(
                    "weather is now %s%s",
                    "SAFE" if synthesis.is_safe else "UNSAFE",
                    f": {'; '.join(synthesis.reasons)}" if synthesis.reasons else "",
                )
                self._store_soon()  # a new verdict reaches the pages now, not a period later
            return synthesis

    def store_once(self) -> None:
        if self.store is None:
            return
        try:
            self.store.store(self.state.current(), self.config.gateway.store_period_s)
        except Exception as exc:  # the database may be down or locked: serving safety goes on
            cause = getattr(exc, "orig", None) or exc  # the driver's error, not SQLAlchemy's hint
            text = f"{type(cause).__name__}: {str(cause).splitlines()[0] if str(cause) else ''}"
            if text != self._last_store_error:  # log each distinct failure once
                hint = " (run `pyros init`?)" if "no such table" in text or "exist" in text else ""
                log.error("storing the weather synthesis failed%s: %s; will retry", hint, text)
            self._last_store_error = text
        else:
            if self._last_store_error:
                log.info("storing the weather synthesis works again")
            self._last_store_error = ""

    def maintain_history(self) -> None:
        """Fold old history rows into buckets and apply the retention (a failure is logged)."""
        if self.sessions is None:
            return
        try:
            upkeep = maintain(self.sessions, self.clock.now(), self.config.gateway)
        except Exception as exc:  # the database may be busy: the next pass catches up
            cause = getattr(exc, "orig", None) or exc
            log.error("weather history upkeep failed: %s: %s; will retry", type(cause).__name__,
                      str(cause).splitlines()[0] if str(cause) else "")  # fmt: skip
            return
        if upkeep.buckets_added or upkeep.rows_deleted:
            log.info(
                "weather history: %d rows folded into %d buckets, %d rows past retention deleted",
                upkeep.rows_folded, upkeep.buckets_added, upkeep.rows_deleted,
            )  # fmt: skip

    def _store_soon(self) -> None:
        if self._scheduler is not None and self.store is not None:
            self._scheduler.modify_job("weather_store", next_run_time=datetime.now(UTC))

    def _poll_soon(self) -> None:
        if self._scheduler is not None:
            self._scheduler.modify_job("plc_poll", next_run_time=datetime.now(UTC))

    # ---- life cycle --------------------------------------------------------------------
    def start(self) -> Gateway:
        from waitress.server import create_server

        app = create_alpaca_app(self.state, self.config.site.name)
        # 4 worker threads: on 2 cores more threads only add GIL contention to the tail.
        self._server = create_server(app, host=self.host, port=self.port, threads=4)
        self.port = int(self._server.effective_port)  # waitress reports it as a string
        self._http_stop = threading.Event()
        self._server_thread = threading.Thread(
            target=self._serve_http, name="alpaca-http", daemon=True
        )
        self._server_thread.start()
        if self.discovery_port:
            self.discovery = DiscoveryResponder(self.host, self.discovery_port, self.port).start()
        scheduler = BackgroundScheduler(timezone="UTC")
        now = datetime.now(UTC)
        # Periods are clock seconds: under an accelerated simulated clock the jobs run as
        # often in real time as the clock needs, so the stale timeout keeps its meaning.
        speed = float(getattr(self.clock, "speed", 1.0))
        poll_s = max(MIN_PERIOD_S, self.config.plc.poll_period_s / speed)
        scheduler.add_job(
            self.poll_once, "interval", seconds=poll_s, id="plc_poll", name="plc_poll",
            max_instances=1, coalesce=True, misfire_grace_time=max(1, int(poll_s)),
            next_run_time=now,
        )  # fmt: skip
        if self.store is not None:
            store_s = max(MIN_PERIOD_S, self.config.gateway.store_period_s / speed)
            scheduler.add_job(
                self.store_once, "interval", seconds=store_s, id="weather_store",
                name="weather_store", max_instances=1, coalesce=True,
                misfire_grace_time=max(1, int(store_s)),
                next_run_time=now + timedelta(seconds=min(store_s, poll_s)),
            )  # fmt: skip
            upkeep_s = max(1.0, self.config.gateway.history_maintenance_period_s / speed)
            scheduler.add_job(
                self.maintain_history, "interval", seconds=upkeep_s, id="history_upkeep",
                name="history_upkeep", max_instances=1, coalesce=True,
                next_run_time=now + timedelta(seconds=min(upkeep_s, 10.0)),
            )  # fmt: skip
        scheduler.start()
        self._scheduler = scheduler
        log.info(
            "gateway: Alpaca on http://%s:%s, PLC %s, poll every %s s",
            self.host, self.port, self.client.address, poll_s,
        )  # fmt: skip
        return self

    def stop(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=True)
            self._scheduler = None
        if self.discovery is not None:
            self.discovery.stop()
            self.discovery = None
        if self._server is not None:
            self._http_stop.set()
            if self._server_thread is not None:
                self._server_thread.join(timeout=5)
            self._server = None
        self.client.close()

    def _serve_http(self) -> None:
        """waitress's loop, in short turns so that `stop()` ends it from this same thread."""
        from waitress import wasyncore

        server = self._server
        while not self._http_stop.is_set():
            server.asyncore.loop(timeout=0.1, map=server._map, count=1)
        wasyncore.close_all(map=server._map)
        server.task_dispatcher.shutdown()

    def __enter__(self) -> Gateway:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


def run_gateway(gateway: Gateway, stop: threading.Event) -> None:
    """`pyros gateway`: serve until `stop` is set (Ctrl-C or SIGTERM from the supervisor)."""
    gateway.start()
    print(f"gateway: Alpaca server on {gateway.url}", flush=True)
    try:
        stop.wait()
    finally:
        gateway.stop()
