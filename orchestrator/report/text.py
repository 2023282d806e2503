"""The short text report of tonight: majordome transitions, sequences changed, images taken
(the operator command `report`); the full night report is in `orchestrator/report/`.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from orchestrator.majordome.night import current_night
from orchestrator.model import Image, MajordomeHistory, Sequence


def report_text(runtime) -> str:
    now = runtime.clock.now()
    night = current_night(runtime.config, now)
    since = night.sunset or now
    lines = [f"Night report {night.night} — {runtime.config.site.name} (times UTC)", ""]
    with runtime.sessions() as session:
        lines.append("Majordome")
        for h in session.scalars(
            select(MajordomeHistory)
            .where(
                MajordomeHistory.time >= since,
                MajordomeHistory.telescope == runtime.config.telescope.name,
            )
            .order_by(MajordomeHistory.id)
        ):
            lines.append(f"  {h.time:%H:%M:%S} {h.from_state} -> {h.to_state}: {h.reason}")
        lines += ["", "Sequences changed tonight"]
        for s in session.scalars(
            select(Sequence).where(Sequence.status_changed >= since).order_by(Sequence.id)
        ):
            lines.append(f"  #{s.id} {s.name} {s.target_name}: {s.status} {s.status_reason}")
        counts = session.execute(
            select(Image.image_type, func.count())
            .where(Image.date_obs >= since)
            .group_by(Image.image_type)
        ).all()
    lines += ["", "Images: " + (", ".join(f"{k} {v}" for k, v in counts) or "none")]
    return "\n".join(lines) + "\n"


def write_report(runtime) -> Path:
    night = current_night(runtime.config, runtime.clock.now())
    path = runtime.config.folders.logs / f"night-report-{night.night}.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(report_text(runtime), encoding="utf-8")
    return path
