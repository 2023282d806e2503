"""The majordome's state table: every state, and the moves allowed between them, as data.

Like POCS's YAML state table: one place says what may follow what. `StateStore.move()` refuses
any other move (`IllegalTransition`, nothing changed) and stores the state, mode, pause flag,
current sequence and reason on every change, with a history row for the night report. Each
telescope of a network has its own row and history (`config.telescope.name`).
"""

from __future__ import annotations

import enum
import threading
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from orchestrator.errors import IllegalTransition
from orchestrator.model import MajordomeHistory, MajordomeState


class State(enum.StrEnum):
    STARTUP = "startup"
    DAY = "day"  # closed, parked, waiting for the evening
    DUSK_FLATS = "dusk_flats"
    NIGHT_WAITING = "night_waiting"  # nothing to do now, or waiting for safe weather
    OPENING = "opening"
    OBSERVING = "observing"
    CLOSING = "closing"
    CLOSED_WEATHER = "closed_weather"
    DAWN_FLATS = "dawn_flats"
    DARKS_BIAS = "darks_bias"
    PARKED = "parked"
    MANUAL = "manual"
    PAUSED = "paused"
    ERROR = "error"


M = State
_ANY_SAFE_STOP = {M.CLOSING, M.MANUAL, M.PAUSED, M.ERROR}
# state -> states it may move to. Every state may close (the safety reaction) and may go to
# manual, paused or error; the rest is the night's order.
TRANSITIONS: dict[State, frozenset[State]] = {
    M.STARTUP: frozenset({M.DAY, M.NIGHT_WAITING, M.CLOSED_WEATHER, M.PARKED} | _ANY_SAFE_STOP),
    # the dusk flats open through OPENING (Majordome._open), as a sequence does
    M.DAY: frozenset(
        {M.OPENING, M.DUSK_FLATS, M.NIGHT_WAITING, M.DARKS_BIAS, M.PARKED} | _ANY_SAFE_STOP
    ),
    M.DUSK_FLATS: frozenset({M.NIGHT_WAITING, M.OPENING} | _ANY_SAFE_STOP),
    M.NIGHT_WAITING: frozenset(
        {M.OPENING, M.OBSERVING, M.DAWN_FLATS, M.DARKS_BIAS, M.DAY, M.PARKED, M.CLOSED_WEATHER}
        | _ANY_SAFE_STOP
    ),
    M.OPENING: frozenset({M.OBSERVING, M.DUSK_FLATS, M.DAWN_FLATS} | _ANY_SAFE_STOP),
    M.OBSERVING: frozenset({M.NIGHT_WAITING, M.DAWN_FLATS} | _ANY_SAFE_STOP),
    M.CLOSING: frozenset(
        {
            M.CLOSED_WEATHER,
            M.PARKED,
            M.DAY,
            M.NIGHT_WAITING,
            M.DARKS_BIAS,
            M.MANUAL,
            M.PAUSED,
            M.ERROR,
        }
    ),
    M.CLOSED_WEATHER: frozenset(
        {M.NIGHT_WAITING, M.OPENING, M.DAY, M.DARKS_BIAS, M.PARKED} | _ANY_SAFE_STOP
    ),
    M.DAWN_FLATS: frozenset({M.CLOSING, M.DARKS_BIAS, M.DAY, M.PARKED} | _ANY_SAFE_STOP),
    M.DARKS_BIAS: frozenset({M.DAY, M.PARKED, M.NIGHT_WAITING} | _ANY_SAFE_STOP),
    M.PARKED: frozenset(
        {M.DAY, M.NIGHT_WAITING, M.DUSK_FLATS, M.DARKS_BIAS, M.CLOSED_WEATHER} | _ANY_SAFE_STOP
    ),
    # leaving manual, a pause or an error always goes back through startup's checks
    M.MANUAL: frozenset({M.STARTUP, M.CLOSING, M.ERROR, M.PAUSED}),
    M.PAUSED: frozenset({M.STARTUP, M.CLOSING, M.MANUAL, M.ERROR}),
    M.ERROR: frozenset({M.STARTUP, M.CLOSING, M.MANUAL, M.PAUSED}),
}
# moves that open the dome or move the mount: `is_safe()` is checked before each
OPENING_MOVES = frozenset({M.OPENING, M.OBSERVING, M.DUSK_FLATS, M.DAWN_FLATS})
DARK_STATES = frozenset({M.DAY, M.PARKED, M.DARKS_BIAS, M.CLOSED_WEATHER, M.NIGHT_WAITING})


@dataclass(frozen=True)
class Snapshot:
    state: State
    mode: str
    paused: bool
    current_sequence_id: int | None
    reason: str
    updated: datetime


class StateStore:
    """The stored majordome row; every change is one transaction with its history row."""

    def __init__(self, runtime, cached: bool = False):
        self.runtime = runtime
        self.telescope: str = runtime.config.telescope.name
        self._lock = threading.RLock()
        # The orchestrator is the row's only writer (one per telescope): it may keep
        # what it wrote instead of reading it back at every tick. Readers (CLI) never cache.
        self._cached = cached
        self._last: Snapshot | None = None

    def snapshot(self) -> Snapshot:
        with self._lock:
            if self._cached and self._last is not None:
                return self._last
            with self.runtime.sessions() as session:
                snap = self._snap(self._find(session))
            if self._cached:
                self._last = snap
            return snap

    def _snap(self, row: MajordomeState | None) -> Snapshot:
        if row is None:
            return Snapshot(M.STARTUP, "AUTO", False, None, "", self.runtime.clock.now())
        return Snapshot(
            State(row.state),
            row.mode,
            row.paused,
            row.current_sequence_id,
            row.reason,
            row.updated,
        )

    @property
    def state(self) -> State:
        return self.snapshot().state

    def _find(self, session) -> MajordomeState | None:
        return session.scalar(
            select(MajordomeState).where(MajordomeState.telescope == self.telescope)
        )

    def _row(self, session) -> MajordomeState:
        row = self._find(session)
        if row is None:
            row = MajordomeState(
                telescope=self.telescope,
                state=M.STARTUP.value,
                mode="AUTO",
                paused=False,
                reason="",
                updated=self.runtime.clock.now(),
            )
            session.add(row)
            session.flush()
        return row

    def move(self, to: State, reason: str, *, force: bool = False) -> State:
        """Move to `to`; raises IllegalTransition (nothing stored) unless the table allows it.

        `force` is only for the restart path (`enter_startup`): a killed process re-enters
        through startup from whatever state it died in.
        """
        to = State(to)
        with self._lock, self.runtime.sessions.begin() as session:
            self._last = None
            row = self._row(session)
            current = State(row.state)
            if current == to:
                row.reason = reason
                row.updated = self.runtime.clock.now()
                self._last = self._snap(row) if self._cached else None
                return current
            if not force and to not in TRANSITIONS[current]:
                raise IllegalTransition(
                    f"majordome cannot move from {current.value} to {to.value} ({reason})"
                )
            now = self.runtime.clock.now()
            row.state, row.reason, row.updated = to.value, reason, now
            session.add(
                MajordomeHistory(
                    telescope=self.telescope,
                    time=now,
                    from_state=current.value,
                    to_state=to.value,
                    reason=reason,
                )
            )
            self._last = self._snap(row) if self._cached else None
            return current

    def set(self, **fields) -> None:
        """Store mode / paused / current_sequence_id (not the state: only `move` does that)."""
        assert "state" not in fields
        with self._lock, self.runtime.sessions.begin() as session:
            self._last = None
            row = self._row(session)
            for name, value in fields.items():
                setattr(row, name, value)
            row.updated = self.runtime.clock.now()
            self._last = self._snap(row) if self._cached else None

    def history(self, since: datetime | None = None) -> list[MajordomeHistory]:
        with self.runtime.sessions() as session:
            query = (
                select(MajordomeHistory)
                .where(MajordomeHistory.telescope == self.telescope)
                .order_by(MajordomeHistory.id)
            )
            if since is not None:
                query = query.where(MajordomeHistory.time >= since)
            return list(session.scalars(query))
