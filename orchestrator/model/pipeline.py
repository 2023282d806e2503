"""What the image pipeline produces besides calibrated frames: masters and error-box reports."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from orchestrator.model.base import Base


class MasterFrame(Base):
    """One master bias, dark (per exposure time) or flat (per filter), with its provenance."""

    __tablename__ = "master_frame"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))  # bias, dark, flat
    channel: Mapped[str] = mapped_column(String(8))
    night: Mapped[str] = mapped_column(String(8), index=True)  # YYYYMMDD, as in the file tree
    filter_name: Mapped[str | None] = mapped_column(String(32))  # flats
    exposure_s: Mapped[float | None]  # darks
    bin_x: Mapped[int]
    bin_y: Mapped[int]
    width_px: Mapped[int]
    height_px: Mapped[int]
    path: Mapped[str] = mapped_column(String(1024), unique=True)
    created: Mapped[datetime] = mapped_column(index=True)
    n_frames: Mapped[int]
    source_image_ids: Mapped[str] = mapped_column(Text)  # JSON list of image.id
    is_valid: Mapped[bool] = mapped_column(default=True)


class ErrorBoxReport(Base):
    """The near-real-time analysis of an alert's images around its error circle."""

    __tablename__ = "error_box_report"
    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alert.id"), index=True)
    created: Mapped[datetime] = mapped_column(index=True)
    ra_deg: Mapped[float]
    dec_deg: Mapped[float]
    radius_deg: Mapped[float]
    n_images: Mapped[int]
    n_candidates: Mapped[int]
    text: Mapped[str] = mapped_column(Text)  # GCN-Circular-like draft
    details: Mapped[str] = mapped_column(Text)  # JSON: sources, limits, what could not be done
