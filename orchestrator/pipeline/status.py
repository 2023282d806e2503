"""The pipeline's lines of `pyros status`: queue, newest masters, quality of recent frames."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from orchestrator.model import Image, MasterFrame

RECENT_FRAMES = 5


def pipeline_status(session) -> dict[str, Any]:
    """Counts by queue state, masters per kind, and the quality of the newest science frames."""
    states = dict(
        session.execute(
            select(Image.pipeline_state, func.count()).group_by(Image.pipeline_state)
        ).all()
    )
    masters = dict(
        session.execute(
            select(MasterFrame.kind, func.count())
            .where(MasterFrame.is_valid.is_(True))
            .group_by(MasterFrame.kind)
        ).all()
    )
    recent = session.scalars(
        select(Image)
        .where(Image.image_type == "light", Image.pipeline_state.in_(("done", "failed")))
        .order_by(Image.pipeline_done_at.desc(), Image.id.desc())
        .limit(RECENT_FRAMES)
    )
    frames = [
        {
            "id": i.id,
            "name": i.path.rsplit("/", 1)[-1],
            "state": i.pipeline_state,
            "fwhm_arcsec": i.fwhm_arcsec,
            "background_adu": i.background_adu,
            "n_stars": i.n_stars,
            "limiting_mag": i.limiting_mag,
            "note": i.pipeline_note or "",
        }
        for i in recent
    ]
    return {"queue": states, "masters": masters, "frames": frames}


def _fmt(value, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def format_pipeline(status: dict[str, Any] | None) -> list[str]:
    if not status:
        return []
    queue = ", ".join(f"{k}: {v}" for k, v in sorted(status["queue"].items())) or "empty"
    masters = ", ".join(f"{k}: {v}" for k, v in sorted(status["masters"].items())) or "none"
    lines = ["", f"Pipeline  images {queue}; masters {masters}"]
    for f in status["frames"]:
        lines.append(
            f'  #{f["id"]:<6} FWHM {_fmt(f["fwhm_arcsec"], ".1f")}"  bkg '
            f"{_fmt(f['background_adu'], '.0f')}  stars {_fmt(f['n_stars'], 'd')}  lim "
            f"{_fmt(f['limiting_mag'], '.1f')}  {f['state']}"
            + (f"  ({f['note'][:60]})" if f["note"] else "")
        )
    return lines
