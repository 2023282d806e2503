"""The night's sequences: the schedules made for it, each sequence's planned slot and its
executions (as its frames show them), its outcome and reason, and the hours charged per program.

An execution runs from its first frame's shutter opening to its last frame's closing: the
moment a sequence started (slew, dome) is not kept once its status moves on, so the slew
before the first frame is not in the executed bar.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from orchestrator.model import (
    Album,
    Image,
    Request,
    Schedule,
    ScheduleEntry,
    Sequence,
    SequenceStatus,
    User,
)
from orchestrator.report.intervals import Interval
from orchestrator.report.weather import iso
from orchestrator.users import quota_exempt

# frames of one sequence further apart than this are two executions (a retry later on)
EXECUTION_GAP_S = 600.0
S = SequenceStatus


def frame_interval(image: Image) -> Interval:
    return (image.date_obs, image.date_obs + timedelta(seconds=image.exposure_s))


def executions(images: list[Image]) -> dict[int, list[dict]]:
    """sequence id -> its executions seen in its frames: first shutter open to last close."""
    by_sequence: dict[int, list[Image]] = defaultdict(list)
    for image in images:
        if image.sequence_id is not None:
            by_sequence[image.sequence_id].append(image)
    blocks: dict[int, list[dict]] = {}
    for sequence_id, frames in by_sequence.items():
        runs: list[list[Image]] = []
        last_end = None
        for image in frames:
            if last_end is None or (image.date_obs - last_end).total_seconds() > EXECUTION_GAP_S:
                runs.append([])
            runs[-1].append(image)
            last_end = max(last_end or frame_interval(image)[1], frame_interval(image)[1])
        blocks[sequence_id] = [
            {
                "start": iso(run[0].date_obs),
                "end": iso(max(frame_interval(i)[1] for i in run)),
                "frames": len(run),
            }
            for run in runs
        ]
    return blocks


def schedules(session, night: date, telescope: str) -> tuple[dict, dict[int, list[dict]]]:
    """The night's schedules of this telescope (a network's telescopes share one database)."""
    mine = (Schedule.night == night) & (Schedule.telescope == telescope)
    schedules = list(
        session.scalars(select(Schedule).where(mine).order_by(Schedule.created, Schedule.id))
    )
    # columns, not entities: a night re-planned after every sequence has ~10^5 entries
    rows = session.execute(
        select(
            ScheduleEntry.schedule_id,
            ScheduleEntry.sequence_id,
            ScheduleEntry.start,
            ScheduleEntry.end,
            Schedule.created,
        )
        .join(Schedule, ScheduleEntry.schedule_id == Schedule.id)
        .where(mine)
        .order_by(Schedule.created, Schedule.id, ScheduleEntry.start)
    ).all()
    counts = Counter(row.schedule_id for row in rows)
    planned: dict[int, list[dict]] = defaultdict(list)
    for schedule_id, sequence_id, start, end, created in rows:
        planned[sequence_id].append(
            {"schedule_id": schedule_id, "created": created, "start": start, "end": end}
        )
    facts = {
        "schedules": [
            {
                "id": s.id,
                "created": iso(s.created),
                "trigger": s.trigger,
                "entries": counts.get(s.id, 0),
                "score": s.score,
            }
            for s in schedules
        ]
    }
    return facts, planned


def _planned_slot(candidates: list[dict], executed: list[dict]) -> dict | None:
    """The slot of the last schedule made before the sequence started (else the last one)."""
    if not candidates:
        return None
    chosen = candidates[-1]
    if executed:
        started = datetime.fromisoformat(executed[0]["start"])
        before = [c for c in candidates if c["created"] <= started]
        chosen = before[-1] if before else candidates[0]
    return {
        "schedule_id": chosen["schedule_id"],
        "start": iso(chosen["start"]),
        "end": iso(chosen["end"]),
    }


def _outcome(sequence: Sequence, executed: list[dict]) -> str:
    status = SequenceStatus(sequence.status)
    if status in (S.EXECUTED, S.FAILED, S.CANCELLED, S.EXECUTING):
        return status.value
    return "failed, back to the pool" if executed else "not observed"


def sequences(session, start, end, planned, blocks, images, changed: bool = True) -> list[dict]:
    """The night's sequences: planned tonight, observed tonight and (`changed`: a single
    telescope, whose every status change is its own) any whose status changed tonight."""
    ids = set(planned) | set(blocks)
    if changed:
        moved = select(Sequence.id).where(
            Sequence.status_changed >= start, Sequence.status_changed <= end
        )
        ids |= set(session.scalars(moved))
    light = Counter(i.sequence_id for i in images if i.image_type == "light" and i.sequence_id)
    out = []
    query = (
        select(Sequence)
        .where(Sequence.id.in_(ids))
        .order_by(Sequence.id)
        .options(
            selectinload(Sequence.request).selectinload(Request.program),
            selectinload(Sequence.albums).selectinload(Album.plans),
        )
    )
    for sequence in session.scalars(query) if ids else []:
        executed = blocks.get(sequence.id, [])
        slot = _planned_slot(planned.get(sequence.id, []), executed)
        request = sequence.request
        out.append(
            {
                "id": sequence.id,
                "name": sequence.name,
                "target": sequence.target_name,
                "request_id": request.id,
                "program": request.program.name if request.program else None,
                "is_alert": bool(request.is_alert or sequence.is_urgent),
                "status": SequenceStatus(sequence.status).value,
                "outcome": _outcome(sequence, executed),
                "reason": sequence.status_reason,
                "status_changed": iso(sequence.status_changed),
                "duration_s": sequence.duration_s,
                "planned": slot,
                "executed": executed,
                "frames_planned": sum(p.count for a in sequence.albums for p in a.plans),
                "frames_taken": light.get(sequence.id, 0),
            }
        )
    return out


def quota(session, start: datetime, end: datetime, among: set[int] | None = None) -> list[dict]:
    """Hours charged tonight per program: sequences executed tonight, and those failed by the
    request's own fault (a failure that is not the user's is refunded and back to the pool);
    only those of `among` when given (a network: this telescope's)."""
    only = () if among is None else (Sequence.id.in_(among),)
    charged = session.scalars(
        select(Sequence)
        .where(
            Sequence.status.in_([S.EXECUTED, S.FAILED]),
            Sequence.status_changed >= start,
            Sequence.status_changed <= end,
            *only,
        )
        .options(
            selectinload(Sequence.request).selectinload(Request.program),
            selectinload(Sequence.request).selectinload(Request.user).selectinload(User.user_level),
        )
    )
    programs: dict[str, dict] = {}
    for sequence in charged:
        request = sequence.request
        program = request.program
        name = program.name if program else "(no program)"
        row = programs.setdefault(
            name,
            {
                "program": name,
                "sequences": 0,
                "hours": 0.0,
                "staff_hours": 0.0,
                "quota_h": program.quota_h if program else None,
                "used_h": program.used_h if program else None,
            },
        )
        row["sequences"] += 1
        hours = sequence.duration_s / 3600.0
        row["staff_hours" if quota_exempt(request.user) else "hours"] += hours
    return [programs[k] for k in sorted(programs)]
