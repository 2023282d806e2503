"""Schedules made by the planner, and their entries (one per planned sequence)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from orchestrator.model.base import Base
from orchestrator.model.requests import Sequence


class Schedule(Base):
    __tablename__ = "schedule"
    id: Mapped[int] = mapped_column(primary_key=True)
    created: Mapped[datetime] = mapped_column(index=True)
    night: Mapped[date] = mapped_column(Date)  # local date at dusk
    night_start: Mapped[datetime]
    night_end: Mapped[datetime]
    trigger: Mapped[str] = mapped_column(String(32), default="manual")  # why it was made
    score: Mapped[float] = mapped_column(default=0.0)
    notes: Mapped[str] = mapped_column(Text, default="")
    # the telescope it was planned for (a network shares one database)
    telescope: Mapped[str] = mapped_column(
        String(64), default="main", server_default="main", index=True
    )

    entries: Mapped[list[ScheduleEntry]] = relationship(
        back_populates="schedule", cascade="all, delete-orphan", order_by="ScheduleEntry.start"
    )


class ScheduleEntry(Base):
    __tablename__ = "schedule_entry"
    id: Mapped[int] = mapped_column(primary_key=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("schedule.id", ondelete="CASCADE"))
    sequence_id: Mapped[int] = mapped_column(ForeignKey("sequence.id", ondelete="CASCADE"))
    start: Mapped[datetime]
    end: Mapped[datetime]

    schedule: Mapped[Schedule] = relationship(back_populates="entries")
    sequence: Mapped[Sequence] = relationship()
