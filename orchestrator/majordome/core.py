"""The majordome: the night's conductor, a state table driven by a tick and by events.

The tick (≤ 1 s) decides what to do next from the stored state, the clock, tonight's times and
the planner's newest schedule. Events do not wait for it: the safety watcher calls
`on_safety()` the moment IsSafe changes, `preempt()` starts an urgent sequence at once. A
sequence runs in the observer's own thread, so the tick always returns promptly.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select

from orchestrator.errors import IllegalTransition
from orchestrator.majordome import preempt as preemption
from orchestrator.majordome import reaction
from orchestrator.majordome.night import NightTimes, current_night
from orchestrator.majordome.safety import SafetyReader, Verdict
from orchestrator.majordome.states import OPENING_MOVES, State, StateStore
from orchestrator.model import Schedule, ScheduleEntry, Sequence, SequenceStatus
from orchestrator.network.claim import Claims, free_for

log = logging.getLogger(__name__)
M = State
S = SequenceStatus
REPLANNABLE_CAUSES = ("weather", "device", "interrupted", "pre-empted", "disk")


class Majordome:
    def __init__(self, runtime, devices, observer, reader: SafetyReader | None = None):
        self.runtime = runtime
        self.devices = devices
        self.observer = observer
        self.reader = reader or SafetyReader(runtime)
        self.store = StateStore(runtime, cached=True)
        telescope = runtime.config.telescope
        self.claims = Claims(runtime.sessions, telescope.name, telescope.claim_ttl_s)
        self._taken_seen: set[int] = set()  # due sequences another telescope took
        self.verdict = Verdict(False, ("safety not read yet",))
        self._lock = threading.RLock()  # one decision at a time (tick, pre-emption, commands)
        self._reacting = threading.Lock()  # one safety reaction at a time
        self._epoch = 0  # bumped by every safety reaction: an opening in flight must not stand
        self._worker: threading.Thread | None = None
        self._worker_kind = ""  # "sequence" or "calibration"
        self._done: set[tuple[str, object]] = set()  # (calibration kind, night) done
        self._retry_at = 0.0  # monotonic: next device reconnection (error state)
        self._backoff_s = runtime.config.majordome.reconnect_min_s
        self.deadline: tuple[str, float] | None = None  # (what, monotonic) for the watchdog
        self.wake = threading.Event()  # set to make the tick loop run at once
        # why the last frame was refused by the images folder; cleared by a test write
        self.disk_fault = ""
        # ("slew", id) sent by a pre-emption, ("ended", id) a sequence's end stored: in order
        self.events: deque[tuple[str, int]] = deque(maxlen=200)

    # ---- what the tick looks at -------------------------------------------------------------

    def now(self) -> datetime:
        return self.runtime.clock.now()

    def night(self) -> NightTimes:
        return current_night(self.runtime.config, self.now())

    @property
    def busy(self) -> bool:
        return self._worker is not None and self._worker.is_alive()

    def is_safe(self) -> tuple[bool, str]:
        """Weather safe, required devices connected, Sun low enough, disk space for images."""
        if not self.verdict.is_safe:
            return False, "weather unsafe: " + "; ".join(self.verdict.reasons)
        for role in self.runtime.config.majordome.required_roles:
            if role in self.devices and self.devices.get(role).stale:
                return False, f"required device {role} is not connected"
        if not self.night().sun_low_enough(self.now()):
            return False, "the Sun is too high"
        return self.disk_ok()

    def disk_ok(self) -> tuple[bool, str]:
        """Room for images, and after a frame was refused, a test write that succeeds."""
        folder = self.runtime.config.folders.images
        minimum_mb = self.runtime.config.majordome.min_free_disk_mb
        try:
            folder.mkdir(parents=True, exist_ok=True)
            free_mb = shutil.disk_usage(folder).free / 1e6
            if free_mb < minimum_mb:
                return False, (
                    f"images folder {folder} full: {free_mb:.1f} MB free "
                    f"(majordome.min_free_disk_mb = {minimum_mb:g})"
                )
            if self.disk_fault:
                # a quota or a read-only mount leaves free space: only a write tells
                probe = folder / f".pyros-write-test.{os.getpid()}"
                try:
                    probe.write_bytes(b"\0" * 4096)
                finally:
                    probe.unlink(missing_ok=True)
        except OSError as exc:
            return False, f"images folder {folder} not writable: {exc.strerror or exc}"
        if self.disk_fault:
            log.info("images folder %s writable again (was: %s)", folder, self.disk_fault)
            self.disk_fault = ""
        return True, ""

    def next_due(self) -> int | None:
        """The planned sequence whose entry of this telescope's newest schedule has started,
        earliest first. One that another telescope claims is skipped, and this telescope
        re-plans at once (once per such sequence) so that its next sequence starts now
        rather than at the entry it planned after the one taken."""
        found, taken = self._due()
        fresh = taken - self._taken_seen
        if found is None and fresh:
            self._taken_seen |= fresh
            log.info("sequences %s taken by another telescope: re-planning", sorted(fresh))
            self._replan("taken by another telescope", delayed=False)
            found, _ = self._due()
        return found

    def _due(self) -> tuple[int | None, set[int]]:
        """(the first due sequence free for this telescope, the due ones another claims)."""
        with self.runtime.sessions() as session:
            rows = due_rows(session, self.claims.telescope, self.now(), self.claims.now())
        taken = {sid for sid, _, free in rows if not free}
        first = next((sid for sid, status, free in rows if free and status == S.PLANNED), None)
        return first, taken

    # ---- moves --------------------------------------------------------------------------------

    def move(self, to: State, reason: str) -> None:
        if to in OPENING_MOVES:
            ok, why = self.is_safe()
            if not ok:
                raise IllegalTransition(f"majordome will not move to {to.value}: {why}")
        previous = self.store.move(to, reason)
        if previous != to:
            log.info("majordome %s -> %s: %s", previous.value, to.value, reason)

    def _guarded(self, what: str, timeout_s: float, action: Callable[[], object]) -> None:
        """Run a device action under a deadline the watchdog can see."""
        self.deadline = (what, time.monotonic() + timeout_s + 30.0)
        try:
            action()
        finally:
            self.deadline = None

    def _open(self, then: State, reason: str) -> bool:
        """Open the shutter and unpark, then move to `then`; False if unsafe meanwhile."""
        m = self.runtime.config.majordome
        epoch = self._epoch
        self.move(M.OPENING, reason)
        dome = self.devices.get("dome") if "dome" in self.devices else None
        mount = self.devices.get("mount") if "mount" in self.devices else None
        if dome is not None:
            self._guarded(
                "open dome", m.open_timeout_s, lambda: dome.open_shutter(timeout_s=m.open_timeout_s)
            )
        if mount is not None and mount.is_parked():
            self._guarded(
                "unpark mount", m.park_timeout_s, lambda: mount.unpark(timeout_s=m.park_timeout_s)
            )
        if epoch != self._epoch or not self.verdict.is_safe:
            # the weather turned while the shutter was opening: the reaction closed it
            # before our open finished, so close it again.
            reaction.go_safe(self.runtime.config, self.devices)
            return False
        self.move(then, reason)
        return True

    def secure(self, to: State, reason: str) -> list[reaction.Step]:
        """Close and park (no sequence running), then move to `to`."""
        self.store.move(M.CLOSING, reason)
        steps = reaction.go_safe(self.runtime.config, self.devices)
        self.store.move(to, reason + ": " + "; ".join(s.text() for s in steps))
        return steps

    # ---- events -------------------------------------------------------------------------------

    def on_safety(self, verdict: Verdict) -> None:
        """Called by the safety watcher on every change of verdict (not by the tick)."""
        was_safe = self.verdict.is_safe
        self.verdict = verdict
        if was_safe and not verdict.is_safe:
            state = self.store.state
            if state in OPENING_MOVES or reaction.shutter_open(self.devices):
                # its own thread: the watcher keeps reading IsSafe while the dome closes
                threading.Thread(
                    target=self.react,
                    args=("weather", "; ".join(verdict.reasons) or "unsafe"),
                    name="majordome-safety-reaction",
                    daemon=True,
                ).start()
        elif verdict.is_safe and not was_safe:
            self.wake.set()

    def react(self, cause: str, reason: str) -> list[reaction.Step]:
        """The safety reaction: abort the sequence, close, park, re-plan; state closed/error."""
        with self._reacting:
            self._epoch += 1
            if self.observer is not None:
                self.observer.forget_slew()  # the mount is parked: a slew sent before is void
            log.warning("safety reaction (%s): %s", cause, reason)
            try:
                self.store.move(M.CLOSING, f"{cause}: {reason}")
            except IllegalTransition:
                pass  # already closing
            steps = reaction.go_safe(
                self.runtime.config, self.devices, lambda: self._abort_running(cause, reason)
            )
            summary = "; ".join(s.text() for s in steps)
            target = M.CLOSED_WEATHER if cause == "weather" else M.ERROR
            self.store.move(target, f"{cause}: {reason} ({summary})")
            self._replan(f"{cause} closed", cause == "weather")
            return steps

    def _abort_running(self, cause: str, reason: str) -> None:
        if self.observer.busy or self.busy:
            self.observer.abort(cause, reason)
        worker = self._worker
        if worker is not None:
            worker.join(self.runtime.config.majordome.abort_timeout_s)

    def _replan(self, trigger: str, delayed: bool) -> None:
        from orchestrator.planner.service import replan

        not_before = None
        if delayed:
            not_before = self.now() + timedelta(seconds=self.runtime.config.safety.reopen_delay_s)
        try:
            replan(self.runtime, trigger, not_before)
        except Exception:  # a failed re-plan must not undo the safe state
            log.exception("re-plan after %s failed", trigger)

    def preempt(self, sequence_id: int, reason: str) -> preemption.Preemption:
        """An urgent sequence was planned: run it now, not at the next tick.

        Called by the alerts job right after it planned `sequence_id` (status PLANNED). When
        it is safe, in AUTO, observing and the target above its limits, the running sequence
        is aborted and the mount sent to the urgent target in the caller's thread, before
        anything else (`preempt.slew_first`). Then, in a thread (returned for tests): the
        aborted sequence goes back to the pool with cause "pre-empted" (quota refunded, frames
        kept) and the urgent one starts as soon as the observer is free — the dome is opened
        first if it is closed and it is safe. Nothing moves while unsafe, in manual mode,
        paused or for a target below its limit: the urgent sequence then waits in the
        schedule like any other.
        """
        first = preemption.slew_first(self, sequence_id, reason)
        thread = preemption.Preemption(self, sequence_id, reason, first)
        thread.start()
        return thread

    # ---- work in threads ----------------------------------------------------------------------

    def start_sequence(self, sequence_id: int) -> None:
        if self._reacting.locked() or not self.verdict.is_safe:
            # the tick decided before the weather turned: the reaction has the dome now
            raise IllegalTransition(f"sequence {sequence_id} not started: safety reaction")
        if not self.claims.claim(sequence_id):  # the network: one telescope per sequence
            raise IllegalTransition(
                f"sequence {sequence_id} not started: another telescope claims it, "
                "or it is no longer planned"
            )
        self.store.set(current_sequence_id=sequence_id)

        def lost(reason: str) -> None:
            self.observer.abort("interrupted", reason)

        def run() -> None:
            try:
                with self.claims.kept(sequence_id, lost):
                    result = self.observer.execute(sequence_id)
            except Exception as exc:  # not PLANNED any more, or the observer busy: skip it
                log.error("sequence %s not started: %s", sequence_id, exc)
                self.store.set(current_sequence_id=None)
                self.wake.set()
                return
            log.info(
                "sequence %s %s%s",
                sequence_id,
                result.status,
                f" ({result.cause}: {result.reason})" if result.cause else "",
            )
            if result.status == "failed" and result.cause == "disk":
                self.disk_fault = result.reason  # nothing starts before a write succeeds
            if result.status == "failed" and result.cause in REPLANNABLE_CAUSES:
                self._back_to_pool(sequence_id, f"{result.cause}: {result.reason}")
            self.store.set(current_sequence_id=None)
            self.events.append(("ended", sequence_id))
            if result.cause not in ("weather", "device", "pre-empted"):
                # early, late or failed: the rest of the night is re-planned (the safety
                # reaction re-plans on its own; a pre-emption was just planned by the alert)
                from orchestrator.observer.timing import replan_trigger

                trigger = replan_trigger(self.runtime, result, self.now())
                if trigger:
                    self._replan(trigger, delayed=False)
            if result.status == "failed" and result.cause == "device":
                threading.Thread(
                    target=self.react,
                    args=("device", result.reason),
                    name="majordome-device-reaction",
                    daemon=True,
                ).start()
            self.wake.set()

        try:
            self._start_worker("sequence", run)
        except IllegalTransition:
            self.claims.release(sequence_id)  # not started: free for another telescope
            raise

    def start_calibration(self, kind: str, work: Callable[[], object]) -> None:
        def run() -> None:
            try:
                work()
            except Exception:  # a failed calibration is logged; the night goes on
                log.exception("calibration %s failed", kind)
            self._done.add((kind, self.night().night))
            self.wake.set()

        self._start_worker("calibration", run)

    def _start_worker(self, kind: str, run: Callable[[], None]) -> None:
        if self.busy:
            raise IllegalTransition(f"cannot start a {kind}: a {self._worker_kind} is running")
        self._worker_kind = kind
        self._worker = threading.Thread(target=run, name=f"majordome-{kind}", daemon=True)
        self._worker.start()

    def _back_to_pool(self, sequence_id: int, reason: str) -> None:
        with self.runtime.sessions.begin() as session:
            sequence = session.get(Sequence, sequence_id)
            if sequence is not None and sequence.status == S.FAILED:
                sequence.retry(self.now(), reason)


def due_rows(session, telescope: str, now: datetime, claim_now: datetime) -> list[tuple]:
    """(sequence id, status, free for `telescope`) of the due entries of its newest schedule,
    in the order they should start.

    An entry is due while its slot spans now; an urgent one (an alert's) from its start
    until its sequence's window ends, first: a slot missed while the telescope was busy or
    the process restarting must not make an alert wait for the next re-plan."""
    latest = (
        select(Schedule.id)
        .where(Schedule.telescope == telescope)
        .order_by(Schedule.created.desc(), Schedule.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    return list(
        session.execute(
            select(ScheduleEntry.sequence_id, Sequence.status, free_for(telescope, claim_now))
            .join(Sequence, Sequence.id == ScheduleEntry.sequence_id)
            .where(
                ScheduleEntry.schedule_id == latest,
                ScheduleEntry.start <= now,
                or_(
                    ScheduleEntry.end > now,
                    and_(Sequence.is_urgent.is_(True), Sequence.window_end > now),
                ),
                Sequence.status.in_((S.PLANNED, S.EXECUTING)),
            )
            .order_by(Sequence.is_urgent.desc(), ScheduleEntry.start)
        ).all()
    )
