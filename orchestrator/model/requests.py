"""Observation requests → sequences → albums (one per camera channel) → plans.

A sequence's status moves only along `SEQUENCE_TRANSITIONS`; its methods refuse any other move
and then leave the row unchanged.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from orchestrator.errors import IllegalTransition
from orchestrator.model.base import Base
from orchestrator.model.users import ScientificProgram, User


class SequenceStatus(enum.StrEnum):
    TO_BE_PLANNED = "to_be_planned"
    PLANNED = "planned"
    EXECUTING = "executing"
    EXECUTED = "executed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    UNPLANNABLE = "unplannable"


S = SequenceStatus
# The sequence life cycle as data: status -> statuses it may move to.
SEQUENCE_TRANSITIONS: dict[SequenceStatus, frozenset[SequenceStatus]] = {
    S.TO_BE_PLANNED: frozenset({S.PLANNED, S.UNPLANNABLE, S.CANCELLED}),
    # a re-plan may drop a planned sequence back, or find it can no longer fit
    S.PLANNED: frozenset({S.EXECUTING, S.TO_BE_PLANNED, S.UNPLANNABLE, S.CANCELLED}),
    S.EXECUTING: frozenset({S.EXECUTED, S.FAILED, S.CANCELLED}),
    # conditions change (new night, weather): an unplannable sequence is tried again
    S.UNPLANNABLE: frozenset({S.TO_BE_PLANNED, S.PLANNED, S.CANCELLED}),
    # a failure not the user's fault (weather, device) goes back to the pool
    S.FAILED: frozenset({S.TO_BE_PLANNED}),
    S.EXECUTED: frozenset(),
    S.CANCELLED: frozenset(),
}
TERMINAL_STATUSES = frozenset(s for s, nxt in SEQUENCE_TRANSITIONS.items() if not nxt)


class Channel(enum.StrEnum):
    VIS = "VIS"
    NIR = "NIR"


class Request(Base):
    __tablename__ = "request"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    program_id: Mapped[int | None] = mapped_column(ForeignKey("scientific_program.id"))
    is_alert: Mapped[bool] = mapped_column(default=False)
    submitted: Mapped[datetime]
    source: Mapped[str] = mapped_column(String(16), default="api")  # xml, form, api, alert

    user: Mapped[User] = relationship()
    program: Mapped[ScientificProgram | None] = relationship()
    sequences: Mapped[list[Sequence]] = relationship(
        back_populates="request", cascade="all, delete-orphan", order_by="Sequence.id"
    )


class Sequence(Base):
    __tablename__ = "sequence"
    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("request.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(128))
    target_name: Mapped[str] = mapped_column(String(128))
    ra_deg: Mapped[float]
    dec_deg: Mapped[float]
    window_start: Mapped[datetime]
    window_end: Mapped[datetime]
    priority: Mapped[float] = mapped_column(default=0.0)
    duration_s: Mapped[float]
    preferred_time: Mapped[datetime | None]
    min_altitude_deg: Mapped[float] = mapped_column(default=30.0)
    max_airmass: Mapped[float | None]
    min_moon_separation_deg: Mapped[float | None]
    twilight: Mapped[str | None] = mapped_column(String(16))  # none = the site's default
    is_urgent: Mapped[bool] = mapped_column(default=False)
    status: Mapped[SequenceStatus] = mapped_column(
        Enum(SequenceStatus, native_enum=False, length=16), default=S.TO_BE_PLANNED, index=True
    )
    status_reason: Mapped[str] = mapped_column(Text, default="")
    status_changed: Mapped[datetime | None]
    # What the observer does now, for `pyros status` (empty when idle):
    # "NIR plan 1/2 J frame 4/5 · VIS plan 2/3 r frame 2/3"
    progress: Mapped[str] = mapped_column(String(256), default="")
    # The telescope executing it (a network sharing one database): a lease with an expiry,
    # renewed while it runs, cleared at the end (orchestrator/network/claim.py).
    claimed_by: Mapped[str | None] = mapped_column(String(64), index=True)
    claim_expires: Mapped[datetime | None]

    request: Mapped[Request] = relationship(back_populates="sequences")
    albums: Mapped[list[Album]] = relationship(
        back_populates="sequence", cascade="all, delete-orphan", order_by="Album.id"
    )

    def __init__(self, **fields: object) -> None:
        # A new sequence has a status before it is flushed, so the life cycle works at once.
        fields.setdefault("status", S.TO_BE_PLANNED)
        fields.setdefault("status_reason", "")
        fields.setdefault("progress", "")
        super().__init__(**fields)

    def can_move_to(self, new: SequenceStatus) -> bool:
        return new in SEQUENCE_TRANSITIONS[SequenceStatus(self.status)]

    def move_to(self, new: SequenceStatus, when: datetime, reason: str = "") -> None:
        """The one way to change status; refuses an illegal move without touching the row."""
        if not self.can_move_to(new):
            raise IllegalTransition(
                f"sequence {self.id} ({self.name}): status cannot go from "
                f"{SequenceStatus(self.status).value} to {SequenceStatus(new).value}"
            )
        self.status = new
        self.status_reason = reason
        self.status_changed = when

    def plan(self, when: datetime) -> None:
        self.move_to(S.PLANNED, when)

    def unplan(self, when: datetime, reason: str = "re-planning") -> None:
        self.move_to(S.TO_BE_PLANNED, when, reason)

    def mark_unplannable(self, when: datetime, reason: str) -> None:
        self.move_to(S.UNPLANNABLE, when, reason)

    def start(self, when: datetime) -> None:
        self.move_to(S.EXECUTING, when)

    def finish(self, when: datetime) -> None:
        self.move_to(S.EXECUTED, when)

    def fail(self, when: datetime, reason: str) -> None:
        self.move_to(S.FAILED, when, reason)

    def cancel(self, when: datetime, reason: str) -> None:
        self.move_to(S.CANCELLED, when, reason)

    def retry(self, when: datetime, reason: str = "retry") -> None:
        self.move_to(S.TO_BE_PLANNED, when, reason)


class Album(Base):
    """What one camera channel takes during a sequence."""

    __tablename__ = "album"
    id: Mapped[int] = mapped_column(primary_key=True)
    sequence_id: Mapped[int] = mapped_column(ForeignKey("sequence.id", ondelete="CASCADE"))
    channel: Mapped[Channel] = mapped_column(Enum(Channel, native_enum=False, length=8))
    # pending, running, done, failed (set by the observer as the album moves)
    status: Mapped[str] = mapped_column(String(16), default="pending")

    sequence: Mapped[Sequence] = relationship(back_populates="albums")
    plans: Mapped[list[Plan]] = relationship(
        back_populates="album", cascade="all, delete-orphan", order_by="Plan.id"
    )


class Plan(Base):
    """`count` exposures of `exposure_s` seconds through one filter."""

    __tablename__ = "plan"
    id: Mapped[int] = mapped_column(primary_key=True)
    album_id: Mapped[int] = mapped_column(ForeignKey("album.id", ondelete="CASCADE"))
    filter_name: Mapped[str] = mapped_column(String(32))
    exposure_s: Mapped[float]
    count: Mapped[int] = mapped_column(default=1)
    binning: Mapped[int] = mapped_column(default=1)
    # pending, running, done, failed; frames written by the last execution
    status: Mapped[str] = mapped_column(String(16), default="pending")
    frames_done: Mapped[int] = mapped_column(default=0)

    album: Mapped[Album] = relationship(back_populates="plans")
