"""What the night produces and receives: alerts and images."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from orchestrator.model.base import Base


class Alert(Base):
    """One received notice (VOEvent or GCN JSON), stored before it is acknowledged."""

    __tablename__ = "alert"
    id: Mapped[int] = mapped_column(primary_key=True)
    ivorn: Mapped[str] = mapped_column(String(512), unique=True)  # or the notice's unique id
    mission: Mapped[str] = mapped_column(String(32))
    notice_type: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16), default="observation")  # VOEvent @role
    event_time: Mapped[datetime | None]
    received: Mapped[datetime] = mapped_column(index=True)
    ra_deg: Mapped[float | None]
    dec_deg: Mapped[float | None]
    error_radius_deg: Mapped[float | None]
    is_retraction: Mapped[bool] = mapped_column(default=False)
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("alert.id"))
    request_id: Mapped[int | None] = mapped_column(ForeignKey("request.id"))
    status: Mapped[str] = mapped_column(String(32), default="received")
    payload: Mapped[str] = mapped_column(Text)
    # alert manager (issue 13): where it came from, what it is, what was done, how fast
    source: Mapped[str] = mapped_column(String(16), default="folder")  # folder, vtp, kafka
    trigger_id: Mapped[str | None] = mapped_column(String(128), index=True)  # mission:trigger
    kind: Mapped[str] = mapped_column(String(16), default="")  # position, no_position, ...
    instrument: Mapped[str] = mapped_column(String(32), default="")
    reason: Mapped[str] = mapped_column(Text, default="")  # why rejected / recorded only
    strategy: Mapped[str | None] = mapped_column(String(64))
    latency_ms: Mapped[dict] = mapped_column(JSON, default=dict)  # step: ms after arrival


class AlertDecision(Base):
    """Every decision taken on an alert (observe, record, re-point, cancel), with its reason."""

    __tablename__ = "alert_decision"
    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alert.id", ondelete="CASCADE"), index=True)
    time: Mapped[datetime]
    action: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text, default="")
    request_id: Mapped[int | None] = mapped_column(ForeignKey("request.id"))


class Image(Base):
    __tablename__ = "image"
    id: Mapped[int] = mapped_column(primary_key=True)
    path: Mapped[str] = mapped_column(String(1024), unique=True)
    image_type: Mapped[str] = mapped_column(String(16))  # light, dark, flat, bias
    channel: Mapped[str] = mapped_column(String(8))  # VIS or NIR
    date_obs: Mapped[datetime] = mapped_column(index=True)
    # the local date at the start of the night (YYYYMMDD): calibrations are grouped by it
    night: Mapped[str | None] = mapped_column(String(8), index=True)
    exposure_s: Mapped[float]
    filter_name: Mapped[str | None] = mapped_column(String(32))
    object_name: Mapped[str | None] = mapped_column(String(128))
    sequence_id: Mapped[int | None] = mapped_column(ForeignKey("sequence.id"))
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("plan.id"))
    # the telescope that took it (a network shares one database)
    telescope: Mapped[str] = mapped_column(
        String(64), index=True, default="main", server_default="main"
    )
    calibrated_path: Mapped[str | None] = mapped_column(String(1024))
    # The image pipeline's queue (orchestrator/pipeline/queue.py): pending -> running -> done
    # or failed; a row is claimed by one UPDATE ... WHERE pipeline_state = 'pending'.
    pipeline_state: Mapped[str] = mapped_column(
        String(16), default="pending", server_default="pending", index=True
    )
    pipeline_claimed_by: Mapped[str | None] = mapped_column(String(64))
    pipeline_claimed_at: Mapped[datetime | None]
    pipeline_done_at: Mapped[datetime | None]
    pipeline_note: Mapped[str | None] = mapped_column(Text)  # why a step could not be done
    # Per-frame quality (science frames), filled by the pipeline.
    fwhm_arcsec: Mapped[float | None]
    background_adu: Mapped[float | None]
    n_stars: Mapped[int | None]
    zero_point_mag: Mapped[float | None]
    limiting_mag: Mapped[float | None]
    wcs_solver: Mapped[str | None] = mapped_column(String(32))
