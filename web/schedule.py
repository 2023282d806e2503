"""The schedule page and `/api/schedule`: tonight's plan as a Gantt over the night with the
Sun's and Moon's times and the altitude curves of the scheduled targets (web/schedule_sky.py,
drawn by the vendored uPlot), every sequence that could not be placed with its reason, past
plans (admin), re-plan now (operator).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from orchestrator.errors import InputError
from orchestrator.model import Schedule, ScheduleEntry, Sequence, SequenceStatus
from orchestrator.planner.service import replan
from orchestrator.users import Permission
from web.auth import api_user, permission_required, runtime
from web.schedule_sky import SkyCache, night_sky

blueprint = Blueprint("schedule", __name__)
PAST_PLANS = 50
WAITING = (SequenceStatus.UNPLANNABLE, SequenceStatus.TO_BE_PLANNED)


def _schedule_id(raw: str | None) -> int | None:
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or len(raw) > 18:
        raise InputError("id", f"must be a schedule id (got {raw[:20]!r})")
    return int(raw)


def schedule_view(schedule_id: int | None = None) -> dict[str, Any]:
    """The newest schedule (or the one asked for) with its entries placed over the night."""
    with runtime().sessions() as session:
        query = select(Schedule).options(
            selectinload(Schedule.entries).selectinload(ScheduleEntry.sequence)
        )
        if schedule_id is None:
            query = query.order_by(Schedule.created.desc(), Schedule.id.desc()).limit(1)
        else:
            query = query.where(Schedule.id == schedule_id)
        schedule = session.scalar(query)
        if schedule is None and schedule_id is not None:
            abort(404)
        waiting = session.scalars(
            select(Sequence).where(Sequence.status.in_(WAITING)).order_by(Sequence.id)
        ).all()
        view: dict[str, Any] = {
            "schedule": None,
            "unscheduled": [
                {
                    "sequence_id": s.id,
                    "request_id": s.request_id,
                    "sequence": s.name,
                    "target": s.target_name,
                    "status": SequenceStatus(s.status).value,
                    "reason": s.status_reason or "not planned yet",
                }
                for s in waiting
            ],
        }
        if schedule is None:
            return view
        span_s = max((schedule.night_end - schedule.night_start).total_seconds(), 1.0)

        def pct(moment) -> float:
            offset = (moment - schedule.night_start).total_seconds() / span_s * 100.0
            return round(min(max(offset, 0.0), 100.0), 3)

        view["schedule"] = {
            "id": schedule.id,
            "night": schedule.night.isoformat(),
            "created": schedule.created.isoformat(),
            "trigger": schedule.trigger,
            "score": round(schedule.score, 3),
            "notes": schedule.notes,
            "dusk": schedule.night_start.isoformat(),
            "dawn": schedule.night_end.isoformat(),
            "entries": [
                {
                    "start": e.start.isoformat(),
                    "end": e.end.isoformat(),
                    "sequence_id": e.sequence_id,
                    "request_id": e.sequence.request_id,
                    "sequence": e.sequence.name,
                    "target": e.sequence.target_name,
                    "status": SequenceStatus(e.sequence.status).value,
                    "left_pct": pct(e.start),
                    "width_pct": max(pct(e.end) - pct(e.start), 0.3),
                }
                for e in schedule.entries
            ],
            "hours": [
                {"label": f"{h:%H}h", "left_pct": pct(h)}
                for h in _whole_hours(schedule.night_start, schedule.night_end)
            ],
        }
        targets = {  # one curve per scheduled sequence
            e.sequence_id: {
                "sequence_id": e.sequence_id,
                "target": e.sequence.target_name,
                "ra_deg": e.sequence.ra_deg,
                "dec_deg": e.sequence.dec_deg,
            }
            for e in schedule.entries
        }
        key, night = (schedule.id, schedule.created.isoformat()), schedule.night
    cache = current_app.extensions.setdefault("pyros_sky_cache", SkyCache())
    config = runtime().config
    curves = list(targets.values())
    try:
        view["schedule"]["sky"] = cache.get(key, lambda: night_sky(config, night, curves))
    except ValueError:  # no night at all (polar day): the plan is shown without its sky
        view["schedule"]["sky"] = None
    return view


def _whole_hours(start: datetime, end: datetime) -> list[datetime]:
    first = start.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    return [first + timedelta(hours=h) for h in range(int((end - first) / timedelta(hours=1)) + 1)]


def _past_plans() -> list[dict[str, Any]]:
    with runtime().sessions() as session:
        rows = session.execute(
            select(Schedule, func.count(ScheduleEntry.id))
            .outerjoin(ScheduleEntry, ScheduleEntry.schedule_id == Schedule.id)
            .group_by(Schedule.id)
            .order_by(Schedule.created.desc(), Schedule.id.desc())
            .limit(PAST_PLANS)
        ).all()
        return [
            {
                "id": s.id,
                "night": s.night.isoformat(),
                "created": s.created,
                "trigger": s.trigger,
                "entries": n,
                "score": round(s.score, 3),
            }
            for s, n in rows
        ]


@blueprint.get("/schedule")
def page():
    wanted = _schedule_id(request.args.get("id"))
    admin = current_user.is_authenticated and current_user.can(Permission.MANAGE_USERS)
    if wanted is not None and not admin:
        abort(403)
    return render_template(
        "schedule.html", view=schedule_view(wanted), past=_past_plans() if admin else None
    )


@blueprint.post("/schedule/replan")
@permission_required(Permission.OPERATE)
def replan_now():
    outcome = replan(runtime(), f"operator {current_user.username}"[:32])
    flash(f"re-planned: schedule {outcome.schedule_id}, {len(outcome.result.entries)} entries")
    return redirect(url_for(".page"))


@blueprint.get("/api/schedule")
def api_schedule():
    wanted = _schedule_id(request.args.get("id"))
    if wanted is not None and not api_user().can(Permission.MANAGE_USERS):
        abort(403)  # past plans are the admin's
    return jsonify(schedule_view(wanted))


@blueprint.post("/api/schedule/replan")
def api_replan():
    user = api_user()
    if not user.can(Permission.OPERATE):
        abort(403)
    outcome = replan(runtime(), f"operator {user.username}"[:32])
    return jsonify({"schedule_id": outcome.schedule_id, "entries": len(outcome.result.entries)})
