"""At most one orchestrator per telescope per database: a lease row (holder, since, expiry)
renewed by a thread (named "orchestrator", or "orchestrator:NAME" for `--telescope NAME`).

`acquire()` takes the `process_lease` row named "orchestrator" when it is free, expired, or held
by a dead process of this host; otherwise it *refuses* with `LeaseHeld`, one line naming the
holder (host, pid, since). A refused orchestrator exits (code 3) rather than waiting: a second
`pyros start` must say so at once, not hang. The holder renews every TTL/3 and releases at a
clean stop; a holder killed with -9 is replaced at once on the same host (its pid is gone) or
after the TTL from elsewhere. Every step is one conditional UPDATE/INSERT: atomic on SQLite and
PostgreSQL alike. Times are wall-clock UTC: a lease is about processes alive now, across
processes, not about the (possibly simulated) observatory clock.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psutil
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from orchestrator.model import ProcessLease

log = logging.getLogger(__name__)
ORCHESTRATOR = "orchestrator"
LEASE_TTL_S = 30.0
EXIT_LEASE_HELD = 3  # = supervisor.EXIT_LEASE_HELD: it stops everything instead of restarting


def lease_name(telescope: str) -> str:
    """The orchestrator lease of one telescope ("orchestrator" for the default, single one)."""
    from orchestrator.config import DEFAULT_TELESCOPE

    return ORCHESTRATOR if telescope == DEFAULT_TELESCOPE else f"{ORCHESTRATOR}:{telescope}"


class LeaseHeld(Exception):
    """Another live process holds the lease; the message names it and what to do."""


def _wall_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Lease:
    """One process's claim on a named lease of one database."""

    sessions: sessionmaker[Session]
    name: str = ORCHESTRATOR
    ttl_s: float = LEASE_TTL_S
    now: Callable[[], datetime] = _wall_now

    def __post_init__(self) -> None:
        self.host = socket.gethostname()[:64]
        self.pid = os.getpid()
        self.holder = f"{self.host}:{self.pid}:{uuid.uuid4().hex[:12]}"

    def acquire(self) -> None:
        """Take the lease or raise LeaseHeld naming its holder."""
        now = self.now()
        expires = now + timedelta(seconds=self.ttl_s)
        values = dict(holder=self.holder, host=self.host, pid=self.pid, since=now, expires=expires)
        with self.sessions.begin() as session:
            row = session.scalar(select(ProcessLease).where(ProcessLease.name == self.name))
            if row is None:
                session.add(ProcessLease(name=self.name, **values))
                try:
                    session.flush()
                except IntegrityError:  # another one inserted it first
                    raise LeaseHeld(f"{self.name} lease taken at the same moment; retry") from None
                log.info("%s lease taken by %s", self.name, self.holder)
                return
            holder, until = row.holder, row.expires
            free = until < now or holder == self.holder or self._dead_here(row.host, row.pid)
            if free:
                # Conditional on the holder read above: of two takers, one wins, one sees 0 rows.
                taken = session.execute(
                    update(ProcessLease)
                    .where(ProcessLease.name == self.name, ProcessLease.holder == holder)
                    .values(**values),
                    execution_options={"synchronize_session": False},
                ).rowcount
                if taken == 1:
                    log.info("%s lease taken by %s (was %s)", self.name, self.holder, holder)
                    return
            raise LeaseHeld(self._held_text(row))

    def renew(self) -> bool:
        """Push the expiry forward; False if another process took the lease (stop now)."""
        with self.sessions.begin() as session:
            count = session.execute(
                update(ProcessLease)
                .where(ProcessLease.name == self.name, ProcessLease.holder == self.holder)
                .values(expires=self.now() + timedelta(seconds=self.ttl_s)),
                execution_options={"synchronize_session": False},
            ).rowcount
        return count == 1

    def release(self) -> None:
        with self.sessions.begin() as session:
            session.execute(
                delete(ProcessLease).where(
                    ProcessLease.name == self.name, ProcessLease.holder == self.holder
                )
            )

    def _dead_here(self, host: str, pid: int) -> bool:
        """The holder ran on this host and its process is gone (killed -9, power cut)."""
        return host == self.host and pid != self.pid and not psutil.pid_exists(pid)

    def _held_text(self, row: ProcessLease) -> str:
        return (
            f"another {self.name} runs on this database: host {row.host}, pid {row.pid}, "
            f"since {row.since.isoformat(timespec='seconds')} (lease until "
            f"{row.expires.isoformat(timespec='seconds')}); stop it first (Ctrl-C on its "
            f"`pyros start`, or `kill {row.pid}` on {row.host})"
        )


@contextmanager
def held_lease(
    sessions: sessionmaker[Session],
    stop: threading.Event,
    ttl_s: float = LEASE_TTL_S,
    name: str = ORCHESTRATOR,
) -> Iterator[Lease]:
    """Acquire (LeaseHeld if taken), renew from a thread every ttl/3, release on exit.

    A database error while renewing (locked, down) is logged once and retried: the lease is
    conditional on the holder, so it survives the outage unless another process took it, in
    which case `stop` is set: two orchestrators never keep running on one database.
    """
    lease = Lease(sessions, name=name, ttl_s=ttl_s)
    lease.acquire()
    done = threading.Event()

    def renew_loop() -> None:
        failing = ""
        while not done.wait(ttl_s / 3):
            try:
                kept = lease.renew()
            except OperationalError as exc:
                text = str(exc).splitlines()[0]
                if text != failing:
                    log.error("renewing the %s lease failed (will retry): %s", lease.name, text)
                failing = text
                continue
            if failing:
                log.info("renewing the %s lease works again", lease.name)
                failing = ""
            if not kept:
                log.error("the %s lease was taken by another process: stopping", lease.name)
                stop.set()
                return

    thread = threading.Thread(target=renew_loop, name="lease-renew", daemon=True)
    thread.start()
    try:
        yield lease
    finally:
        done.set()
        thread.join(timeout=5)
        try:
            lease.release()
        except OperationalError as exc:  # it will expire by itself
            log.warning("releasing the %s lease failed: %s", lease.name, exc)


def run_with_lease(
    sessions: sessionmaker[Session],
    stop: threading.Event,
    run: Callable[[], None],
    name: str = ORCHESTRATOR,
) -> None:
    """`pyros orchestrator`: run `run()` holding the lease; exit 3 with one line if it is held.

    A database that cannot be written yet (locked by another writer, not initialised) is
    retried every 2 s, logged once, until it works or `stop` is set.
    """
    failing = ""
    while not stop.is_set():
        try:
            with held_lease(sessions, stop, name=name):
                run()
            return
        except LeaseHeld as exc:
            print(f"pyros orchestrator: {exc}", flush=True)
            raise SystemExit(EXIT_LEASE_HELD) from None
        except OperationalError as exc:
            text = str(exc).splitlines()[0]
            if text != failing:
                log.error("cannot take the orchestrator lease yet (will retry): %s", text)
            failing = text
            stop.wait(2.0)
