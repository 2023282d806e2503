"""Pre-emption by an urgent sequence: the slew goes out first, the bookkeeping follows.

`slew_first()` runs in the caller's thread (the alert manager's, before its full re-plan takes
the CPU): safety and the target's altitude are checked, the running sequence is aborted with
its end held, and the mount is sent to the urgent target. `finish()` then, in a thread, joins
the aborted sequence (back to the pool, quota refunded) and starts the urgent one, whose
observer finds the mount already on its way and waits for it instead of slewing again. The
instants of the abort and of the slew go back to the caller (the alert's latency chain).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

import astropy.units as u
from astropy.coordinates import SkyCoord
from sqlalchemy import select

from orchestrator.devices.coords import horizontal_deg
from orchestrator.devices.errors import DeviceError
from orchestrator.errors import IllegalTransition
from orchestrator.majordome import reaction
from orchestrator.majordome.states import State
from orchestrator.model import Sequence, SequenceStatus

log = logging.getLogger(__name__)
M = State
LOCK_WAIT_S = 0.5  # a tick holds the decision lock for milliseconds; longer: no fast slew


@dataclass(frozen=True)
class SlewFirst:
    """What `slew_first` did: `sent_unix` when the slew went out (`aborted_unix` when the
    running sequence was told to stop); `refused` when the urgent sequence must not start now
    (unsafe, not AUTO, below its limit); `why` says why not."""

    sent_unix: float | None = None
    aborted_unix: float | None = None
    refused: bool = False
    why: str = ""

    def steps(self) -> dict[str, float]:
        """{step: Unix time} for the alert's latency chain."""
        found = {"abort": self.aborted_unix, "slew": self.sent_unix}
        return {step: at for step, at in found.items() if at is not None}


class Preemption(threading.Thread):
    """The thread that finishes a pre-emption, and what its first, synchronous part did."""

    def __init__(self, m, sequence_id: int, reason: str, first: SlewFirst):
        super().__init__(
            target=finish, args=(m, sequence_id, reason, first), name="majordome-preempt"
        )
        self.daemon = True
        self.first = first


@dataclass(frozen=True)
class _Target:
    ra_deg: float
    dec_deg: float
    min_altitude_deg: float
    status: SequenceStatus


def _read_target(runtime, sequence_id: int) -> _Target | None:
    """Columns only, no ORM object: the hot path of an alert."""
    with runtime.sessions() as session:
        row = session.execute(
            select(
                Sequence.ra_deg, Sequence.dec_deg, Sequence.min_altitude_deg, Sequence.status
            ).where(Sequence.id == sequence_id)
        ).first()
    return None if row is None else _Target(row[0], row[1], row[2], SequenceStatus(row[3]))


def _refusal(m, target: _Target) -> str:
    """Why the urgent sequence must not start now, or "" (safety first, then the sky)."""
    snap = m.store.snapshot()
    if snap.mode != "AUTO" or snap.paused:
        return "not in AUTO, or paused"
    safe, why = m.is_safe()
    if not safe:
        return why
    site = m.runtime.config.site
    alt_deg, _ = horizontal_deg(target.ra_deg, target.dec_deg, site, m.now())
    limit_deg = max(site.horizon_deg, target.min_altitude_deg)
    if alt_deg < limit_deg:
        return (
            f"target at altitude {alt_deg:.1f} deg is below {limit_deg:g} deg "
            "(site.horizon_deg or the sequence's min_altitude_deg)"
        )
    return ""


def slew_first(m, sequence_id: int, reason: str) -> SlewFirst:
    """In the caller's thread: abort the running sequence and send the slew, or say why not."""
    if not m._lock.acquire(timeout=LOCK_WAIT_S):
        return SlewFirst(why="the majordome is deciding something else")
    try:
        if _running(m, sequence_id):
            # the tick started it from the urgent schedule a moment ago (still PLANNED in the
            # database until its worker stores the start): aborting "the running one" would
            # abort the urgent sequence itself
            return SlewFirst(why=f"sequence {sequence_id} already running")
        target = _read_target(m.runtime, sequence_id)
        if target is None or target.status is not SequenceStatus.PLANNED:
            return SlewFirst(why=f"sequence {sequence_id} is not planned")
        refusal = _refusal(m, target)
        if refusal:
            return SlewFirst(refused=True, why=refusal)
        if m.store.state != M.OBSERVING:
            return SlewFirst(why=f"majordome {m.store.state.value}: the dome opens first")
        hold = threading.Event()
        aborted_unix = None
        try:
            if m._worker_kind == "sequence" and m.busy:
                # stops its exposures now; its statuses and quota are stored after the slew
                m.observer.abort("pre-empted", reason, hold=hold)
                aborted_unix = time.time()
            sent = _send(m, sequence_id, target)
        finally:
            hold.set()
        return SlewFirst(sent.sent_unix, aborted_unix, sent.refused, sent.why)
    finally:
        m._lock.release()


def _running(m, sequence_id: int) -> bool:
    """The majordome's worker executes `sequence_id` now (the store's current sequence is set
    when the worker is started, before its thread stores the start)."""
    busy = m._worker_kind == "sequence" and m.busy
    return busy and sequence_id in (m.store.snapshot().current_sequence_id, m.observer.sequence_id)


def _send(m, sequence_id: int, target: _Target) -> SlewFirst:
    # A safety reaction parks the mount: none may start between the last look at the verdict
    # and the slew command (one that starts after it parks the mount after this slew).
    if not m._reacting.acquire(blocking=False):
        return SlewFirst(refused=True, why="a safety reaction is running")
    try:
        if not m.verdict.is_safe:
            return SlewFirst(refused=True, why="weather unsafe")
        coord = SkyCoord(ra=target.ra_deg * u.deg, dec=target.dec_deg * u.deg, frame="icrs")
        # the guard checks the horizon again; the adapter refuses a parked mount
        m.devices.get("mount").start_slew(coord)
        sent_unix = time.time()  # the latency chain is in wall time
    except DeviceError as exc:
        log.warning("pre-emption by sequence %s: no slew first: %s", sequence_id, exc)
        return SlewFirst(why=str(exc))
    finally:
        m._reacting.release()
    m.observer.note_slew(sequence_id, target.ra_deg, target.dec_deg)
    m.events.append(("slew", sequence_id))
    return SlewFirst(sent_unix=sent_unix)


def finish(m, sequence_id: int, reason: str, first: SlewFirst) -> None:
    """In a thread: the aborted sequence's end, then the urgent one's start."""
    started = False
    try:
        with m._lock:
            if first.refused:
                log.warning("pre-emption by sequence %s deferred: %s", sequence_id, first.why)
                return
            snap = m.store.snapshot()
            if snap.mode != "AUTO" or snap.paused or not m.is_safe()[0]:
                log.warning(
                    "pre-emption by sequence %s deferred: not in AUTO, paused or unsafe",
                    sequence_id,
                )
                return
            if m._worker_kind == "sequence" and m.busy:
                if _running(m, sequence_id):
                    # the tick already started it from the urgent schedule: keep it
                    log.info("urgent sequence %s already running", sequence_id)
                    started = True
                    return
                m.observer.abort("pre-empted", reason)  # no-op if slew_first aborted it
                m._worker.join(m.runtime.config.majordome.abort_timeout_s)
            try:
                if m.store.state != M.OBSERVING:
                    if reaction.shutter_open(m.devices):
                        m.move(M.OBSERVING, f"pre-empted by sequence {sequence_id}")
                    elif not m._open(M.OBSERVING, f"urgent sequence {sequence_id}"):
                        return
                m.start_sequence(sequence_id)
                started = True
            except (IllegalTransition, DeviceError) as exc:
                log.error("pre-emption by sequence %s failed: %s", sequence_id, exc)
    finally:
        if not started and first.sent_unix is not None:
            m.observer.forget_slew()
