"""One view of the whole system (database, jobs, devices, safety, majordome).

Shared by `pyros status` and the web's `/api/status`, so both always say the same thing.
Missing or stale safety data is reported as unsafe.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, inspect, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import selectinload

from orchestrator import db
from orchestrator.model import (
    DeviceStatus,
    Image,
    JobHeartbeat,
    MajordomeState,
    Schedule,
    ScheduleEntry,
    Sequence,
    SequenceStatus,
    WeatherWatch,
)
from orchestrator.pipeline.status import format_pipeline, pipeline_status
from orchestrator.runtime import Runtime

LATE_FACTOR = 3.0  # a job is late after missing this many periods


def system_status(runtime: Runtime) -> dict[str, Any]:
    url = make_url(runtime.config.database.url).render_as_string(hide_password=True)
    status: dict[str, Any] = {"site": runtime.config.site.name, "time": runtime.clock.now()}
    try:
        revision = db.current_revision(runtime.engine)
        tables = set(inspect(runtime.engine).get_table_names())
    except OperationalError as exc:
        status["database"] = {"url": url, "ok": False, "error": str(exc.orig)}
        return status
    head = db.head_revision()
    initialised = revision is not None and "sequence" in tables
    status["database"] = {
        "url": url,
        "ok": initialised and revision == head,
        "revision": revision,
        "head": head,
        "error": "" if initialised else "not initialised: run `pyros init`",
    }
    if not initialised:
        status["safety"] = {"is_safe": False, "reasons": ["no database"], "age_s": None}
        return status
    with runtime.sessions() as session:
        status["sequences"] = dict(
            session.execute(select(Sequence.status, func.count()).group_by(Sequence.status)).all()
        )
        status["jobs"] = [_job_row(runtime, hb) for hb in session.scalars(select(JobHeartbeat))]
        status["devices"] = _device_rows(runtime, session)
        status["schedule"] = _latest_schedule(session)
        status["not_tonight"] = _not_tonight(session, status["schedule"])
        status["safety"] = safety_of(runtime, session.scalar(select(WeatherWatch)))
        status["pipeline"] = pipeline_status(session) if revision == head else None
        status["majordome"] = _majordome(session, runtime.config.telescope.name)
        status["images"] = [
            {
                "id": i.id,
                "date_obs": i.date_obs,
                "type": i.image_type,
                "channel": i.channel,
                "filter": i.filter_name,
                "object": i.object_name,
                "path": i.path,
            }
            for i in session.scalars(
                select(Image)
                .where(Image.telescope == runtime.config.telescope.name)  # a network: its own
                .order_by(Image.id.desc())
                .limit(5)
            )
        ]
    status["automation"] = _automation(runtime)
    return status


def _majordome(session, telescope: str) -> dict[str, Any] | None:
    """This telescope's state, mode, reason, and the current sequence with its progress."""
    row = session.scalar(select(MajordomeState).where(MajordomeState.telescope == telescope))
    if row is None:
        return None
    out: dict[str, Any] = {
        "state": row.state,
        "mode": row.mode,
        "paused": row.paused,
        "reason": row.reason,
        "since": row.updated,
        "sequence": None,
    }
    if row.current_sequence_id is not None:
        sequence = session.get(Sequence, row.current_sequence_id)
        if sequence is not None:
            plans = [p for album in sequence.albums for p in album.plans]
            taken = session.scalar(
                select(func.count()).select_from(Image).where(Image.sequence_id == sequence.id)
            )
            total = sum(p.count for p in plans)
            current = next(
                (p for p in plans if taken < sum(q.count for q in plans[: plans.index(p) + 1])),
                plans[-1] if plans else None,
            )
            out["sequence"] = {
                "id": sequence.id,
                "name": sequence.name,
                "target": sequence.target_name,
                "progress": sequence.progress,  # the observer's own line, per channel
                "frame": min(taken + 1, total),
                "frames": total,
                "plan": f"{current.filter_name} {current.exposure_s:g} s x{current.count}"
                if current
                else "",
            }
    return out


def _automation(runtime: Runtime) -> list[dict[str, Any]]:
    from orchestrator.majordome.automation import stored_jobs

    try:
        return stored_jobs(runtime)
    except Exception as exc:  # noqa: BLE001 - status must always print
        return [{"id": "(unreadable)", "name": str(exc), "next_run": None}]


def _job_row(runtime: Runtime, hb: JobHeartbeat) -> dict[str, Any]:
    age = (runtime.clock.now() - hb.last_beat).total_seconds()
    speed = float(getattr(runtime.clock, "speed", 1.0))  # periods are real seconds
    return {
        "name": hb.name,
        "process": hb.process,
        "age_s": round(age, 1),
        "late": age / speed > LATE_FACTOR * hb.period_s,
        "state": hb.state,
        "restarts": hb.restarts,
        "last_error": hb.last_error,
    }


def _latest_schedule(session) -> dict[str, Any] | None:
    """The planner's newest schedule, entry by entry, with each sequence's status now."""
    schedule = session.scalar(
        select(Schedule)
        .order_by(Schedule.created.desc(), Schedule.id.desc())
        .limit(1)
        # Polled every 5 s by each open page: entries and their sequences in two queries.
        .options(selectinload(Schedule.entries).selectinload(ScheduleEntry.sequence))
    )
    if schedule is None:
        return None
    return {
        "id": schedule.id,
        "night": schedule.night.isoformat(),
        "created": schedule.created,
        "trigger": schedule.trigger,
        "night_start": schedule.night_start,
        "night_end": schedule.night_end,
        "score": round(schedule.score, 3),
        "notes": schedule.notes,
        "entries": [
            {
                "start": entry.start,
                "end": entry.end,
                "sequence_id": entry.sequence_id,
                "sequence": entry.sequence.name,
                "target": entry.sequence.target_name,
                "status": str(entry.sequence.status),
            }
            for entry in schedule.entries
        ],
    }


def _not_tonight(session, schedule: dict[str, Any] | None, limit: int = 20) -> list[dict]:
    """Sequences in the pool whose window does not meet the scheduled night, with why."""
    if schedule is None:
        return []
    start, end = schedule["night_start"], schedule["night_end"]
    waiting = (SequenceStatus.TO_BE_PLANNED, SequenceStatus.UNPLANNABLE)
    rows = session.scalars(
        select(Sequence)
        .where(Sequence.status.in_(waiting))
        .where((Sequence.window_start >= end) | (Sequence.window_end <= start))
        .order_by(Sequence.window_start, Sequence.id)
        .limit(limit)
    )
    return [
        {
            "sequence_id": s.id,
            "sequence": s.name,
            "target": s.target_name,
            "reason": (
                f"window opens {s.window_start:%Y-%m-%d %H:%M} UTC"
                if s.window_start >= end
                else f"window closed {s.window_end:%Y-%m-%d %H:%M} UTC"
            ),
        }
        for s in rows
    ]


def _device_rows(runtime: Runtime, session) -> list[dict[str, Any]]:
    stored = {row.role: row for row in session.scalars(select(DeviceStatus))}
    rows = []
    for role, dev in runtime.config.devices.configured().items():
        row = stored.get(role)
        rows.append(
            {
                "role": role,
                "adapter": dev.adapter,
                "address": dev.address,
                "device": dev.device_name or f"#{dev.device_number}",
                "state": row.state if row else "never seen",
                "connected": bool(row and row.connected),
                "last_error": row.last_error if row else "",
            }
        )
    return rows


def safety_of(runtime: Runtime, watch: WeatherWatch | None) -> dict[str, Any]:
    """The stored verdict, made unsafe when missing or older than safety.stale_after_s."""
    if watch is None:
        return {"is_safe": False, "reasons": ["no weather synthesis stored yet"], "age_s": None}
    age = (runtime.clock.now() - watch.measured).total_seconds()
    reasons = [r for r in watch.unsafe_reasons.split("; ") if r]
    is_safe = watch.is_safe
    if age > runtime.config.safety.stale_after_s:
        is_safe = False
        reasons.append(f"weather synthesis is stale ({age:.0f} s old)")
    return {"is_safe": is_safe, "reasons": reasons, "age_s": round(age, 1)}


def format_status(status: dict[str, Any]) -> str:
    """The one-screen text of `pyros status`."""
    lines = [f"PyROS — {status['site']} — {status['time']:%Y-%m-%d %H:%M:%S} UTC", ""]
    dbs = status["database"]
    state = "ok" if dbs["ok"] else f"NOT OK: {dbs.get('error') or 'revision behind head'}"
    lines.append(f"Database  {dbs['url']}  revision {dbs.get('revision')}  {state}")
    safety = status.get("safety")
    if safety:
        verdict = "SAFE" if safety["is_safe"] else "UNSAFE"
        why = "; ".join(safety["reasons"])
        lines.append(f"Safety    {verdict}" + (f" — {why}" if why else ""))
    if status.get("majordome"):
        m = status["majordome"]
        paused = ", paused" if m["paused"] else ""
        lines.append(f"Majordome {m['state']} ({m['mode']}{paused}) — {m.get('reason', '')}")
        seq = m.get("sequence")
        if seq:
            lines.append(
                f"  sequence {seq['id']} {seq['name']} ({seq['target']}): plan {seq['plan']}, "
                f"frame {seq['frame']} of {seq['frames']}"
                + (f" ({seq['progress']})" if seq.get("progress") else "")
            )
    if "sequences" in status:
        counts = ", ".join(f"{k}: {v}" for k, v in sorted(status["sequences"].items())) or "none"
        lines.append(f"Sequences {counts}")
    schedule = status.get("schedule")
    if schedule is not None:
        lines += [
            "",
            f"Schedule  night {schedule['night']} (times UTC), made {schedule['created']:%H:%M:%S} "
            f"({schedule['trigger']}), {len(schedule['entries'])} entries",
        ]
        for e in schedule["entries"]:
            lines.append(  # a night spans two dates: every time carries its own
                f"  {e['start']:%Y-%m-%d %H:%M} - {e['end']:%Y-%m-%d %H:%M}  {e['target']:<20}"
                f" {e['sequence']:<24} {e['status']}"
            )
    for s in status.get("not_tonight", []):
        lines.append(f"  not tonight: {s['target']:<20} {s['sequence']:<24} {s['reason']}")
    lines += format_pipeline(status.get("pipeline"))
    lines += ["", "Jobs"]
    for job in status.get("jobs", []) or [{"name": "(none has run yet)"}]:
        if "age_s" in job:
            flag = "LATE" if job["late"] else job["state"]
            lines.append(
                f"  {job['name']:<20} {job['process']:<13} {job['age_s']:>8} s ago  {flag}"
            )
        else:
            lines.append(f"  {job['name']}")
    if status.get("images"):
        lines += ["", "Last images"]
        for i in status["images"]:
            lines.append(
                f"  {i['date_obs']:%H:%M:%S} {i['type']:<6} {i['channel']:<4} "
                f"{i['filter'] or '-':<4} {i['object'] or '':<20} {i['path']}"
            )
    if status.get("automation"):
        lines += ["", "Automation"]
        for job in status["automation"]:
            when = f"{job['next_run']:%Y-%m-%d %H:%M %Z}" if job["next_run"] else "paused"
            lines.append(f"  {job['name']:<40} next {when}")
    lines += ["", "Devices"]
    for dev in status.get("devices", []):
        error = f"  {dev['last_error']}" if dev["last_error"] else ""
        lines.append(
            f"  {dev['role']:<16} {dev['adapter']:<7} {dev['address']:<21} {dev['device']:<22}"
            f" {dev['state']}{error}"
        )
    return "\n".join(lines)
