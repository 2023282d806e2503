"""The system's own state: devices, jobs, majordome, operator commands and the log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from orchestrator.model.base import Base


class DeviceStatus(Base):
    __tablename__ = "device_status"
    id: Mapped[int] = mapped_column(primary_key=True)
    role: Mapped[str] = mapped_column(String(32), unique=True)  # mount, dome, camera_vis, ...
    adapter: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(32), default="unknown")  # ok, busy, error, offline
    connected: Mapped[bool] = mapped_column(default=False)
    last_error: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    updated: Mapped[datetime]


class JobHeartbeat(Base):
    """Written by every job at each run; the watchdog restarts a job whose beat is late."""

    __tablename__ = "job_heartbeat"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    process: Mapped[str] = mapped_column(String(32))
    period_s: Mapped[float]
    last_beat: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(16), default="ok")  # ok, error, restarted
    last_error: Mapped[str] = mapped_column(Text, default="")
    restarts: Mapped[int] = mapped_column(default=0)


class MajordomeState(Base):
    """One row per telescope: the conductor's state and mode, always visible and stored.

    In a network of telescopes sharing one database each majordome has its own row (a shared
    one let one telescope's moves be refused because of the other's state)."""

    __tablename__ = "majordome_state"
    id: Mapped[int] = mapped_column(primary_key=True)
    telescope: Mapped[str] = mapped_column(
        String(64), unique=True, default="main", server_default="main"
    )
    state: Mapped[str] = mapped_column(String(32), default="startup")
    mode: Mapped[str] = mapped_column(String(8), default="AUTO")  # AUTO or MANUAL
    paused: Mapped[bool] = mapped_column(default=False)
    current_sequence_id: Mapped[int | None]
    reason: Mapped[str] = mapped_column(Text, default="")
    updated: Mapped[datetime]


class Command(Base):
    """An operator command (pause, mode, manual action) queued by the web for the orchestrator."""

    __tablename__ = "command"
    id: Mapped[int] = mapped_column(primary_key=True)
    # the telescope whose orchestrator takes it (a network shares one database)
    telescope: Mapped[str] = mapped_column(
        String(64), index=True, default="main", server_default="main"
    )
    kind: Mapped[str] = mapped_column(String(32))
    arguments: Mapped[dict] = mapped_column(JSON, default=dict)
    issued_by: Mapped[str] = mapped_column(String(64), default="")
    created: Mapped[datetime] = mapped_column(index=True)
    taken: Mapped[datetime | None]
    done: Mapped[datetime | None]
    # queued -> taken -> done | failed | refused (a bad argument or an unsafe move: nothing moved)
    status: Mapped[str] = mapped_column(String(16), default="queued", server_default="queued")
    result: Mapped[str] = mapped_column(Text, default="")


class MajordomeHistory(Base):
    """One row per majordome transition, for the night report: when, from, to and why."""

    __tablename__ = "majordome_history"
    id: Mapped[int] = mapped_column(primary_key=True)
    telescope: Mapped[str] = mapped_column(
        String(64), index=True, default="main", server_default="main"
    )
    time: Mapped[datetime] = mapped_column(index=True)
    from_state: Mapped[str] = mapped_column(String(32))
    to_state: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text, default="")


class LogEntry(Base):
    __tablename__ = "log_entry"
    id: Mapped[int] = mapped_column(primary_key=True)
    time: Mapped[datetime] = mapped_column(index=True)
    level: Mapped[str] = mapped_column(String(8))
    source: Mapped[str] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text)


class ProcessLease(Base):
    """Who may run a singleton process (the orchestrator) on this database: see lease.py."""

    __tablename__ = "process_lease"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)  # "orchestrator" (per telescope)
    holder: Mapped[str] = mapped_column(String(128))  # host:pid:token
    host: Mapped[str] = mapped_column(String(64))
    pid: Mapped[int]
    since: Mapped[datetime]
    expires: Mapped[datetime]
