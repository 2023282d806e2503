"""The facts of one night, read from the database: JSON-able, the same for the HTML and JSON.

The night of date D runs from sunset on D to sunrise the next morning at the site (local noon
to local noon where the Sun does not set or rise). Images and calibrations are those filed
under the night D (`image.night`, the local date at the start of the night), so darks taken
after sunrise still count.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import selectinload

from orchestrator.majordome.night import times_for
from orchestrator.model import (
    Album,
    Alert,
    AlertDecision,
    DeviceStatus,
    ErrorBoxReport,
    Image,
    LogEntry,
    MajordomeHistory,
    MasterFrame,
    Request,
    Schedule,
    ScheduleEntry,
    Sequence,
    SequenceStatus,
    User,
)
from orchestrator.planner.night import Site, local_noon_utc
from orchestrator.report.intervals import Interval, intersect, total_s, union
from orchestrator.report.weather import iso, weather_facts
from orchestrator.users import quota_exempt

# frames of one sequence further apart than this are two executions (a retry later on)
EXECUTION_GAP_S = 600.0
MAX_PREVIEWS = 6
S = SequenceStatus
FAULT_LOG_LEVELS = ("WARNING", "ERROR", "CRITICAL")
EFFICIENCY_DEFINITION = (
    "efficiency = |U ∩ D ∩ S| / |D ∩ S|, where D is the dark time (dusk to dawn at the site's "
    "twilight), S the time the gateway's weather history said safe (a row holds until the next "
    "one, at most hold_s; missing data is unsafe), and U the union of the shutter-open intervals "
    "[DATE-OBS, DATE-OBS + exposure] of the night's science (light) frames over all cameras; "
    "none when D ∩ S is empty"
)


def night_window(config, night: date) -> tuple[datetime, datetime, object]:
    """(start, end, NightTimes): sunset to sunrise, or local noon to local noon."""
    times = times_for(config, night)
    noon = local_noon_utc(Site.from_config(config.site), night)
    start = times.sunset or noon
    end = times.sunrise if times.sunrise and times.sunrise > start else noon + timedelta(days=1)
    return start, end, times


def night_facts(runtime, night: date) -> dict:
    """Everything the night report shows about `night` (the local date at dusk), JSON-able.

    Keys: night, site, generated, window, timeline, weather, schedule, sequences, images,
    alerts, calibrations, quota, faults, efficiency. Times are ISO 8601 UTC strings,
    durations seconds. The efficiency is defined in EFFICIENCY_DEFINITION.
    """
    config = runtime.config
    start, end, times = night_window(config, night)
    ymd = f"{night:%Y%m%d}"
    with runtime.sessions() as session:
        weather, safe = weather_facts(session, config, start, end)
        images = _night_images(session, ymd, start, end)
        schedule, planned_by_sequence = _schedules(session, night)
        blocks = _executions(images)
        sequences = _sequences(session, start, end, planned_by_sequence, blocks, images)
        facts = {
            "night": night.isoformat(),
            "site": {
                "name": config.site.name,
                "timezone": config.site.timezone,
                "twilight": times.twilight,
            },
            "generated": iso(runtime.clock.now()),
            "window": {
                "start": iso(start),
                "end": iso(end),
                "sunset": iso(times.sunset),
                "dusk": iso(times.dusk),
                "dawn": iso(times.dawn),
                "sunrise": iso(times.sunrise),
                "moon_illumination": round(times.moon_illumination, 3),
            },
            "timeline": _timeline(session, start, end),
            "weather": weather,
            "schedule": schedule,
            "sequences": sequences,
            "images": _images(images),
            "alerts": _alerts(session, start, end),
            "calibrations": _calibrations(session, images, ymd),
            "quota": _quota(session, start, end),
            "faults": _faults(session, start, end, sequences),
        }
    dark = [(max(times.dusk, start), min(times.dawn, end))] if times.dusk and times.dawn else []
    facts["efficiency"] = _efficiency(dark, safe, images)
    return facts


def _timeline(session, start: datetime, end: datetime) -> dict:
    before = session.scalar(
        select(MajordomeHistory)
        .where(MajordomeHistory.time < start)
        .order_by(MajordomeHistory.time.desc(), MajordomeHistory.id.desc())
        .limit(1)
    )
    rows = list(
        session.scalars(
            select(MajordomeHistory)
            .where(MajordomeHistory.time >= start, MajordomeHistory.time <= end)
            .order_by(MajordomeHistory.time, MajordomeHistory.id)
        )
    )
    initial = before.to_state if before is not None else None
    durations: Counter[str] = Counter()
    if initial is not None:
        durations[initial] += ((rows[0].time if rows else end) - start).total_seconds()
    transitions = []
    for i, row in enumerate(rows):
        until = rows[i + 1].time if i + 1 < len(rows) else end
        duration_s = (until - row.time).total_seconds()
        durations[row.to_state] += duration_s
        transitions.append(
            {
                "time": iso(row.time),
                "from": row.from_state,
                "to": row.to_state,
                "reason": row.reason,
                "duration_s": duration_s,
            }
        )
    return {"initial_state": initial, "transitions": transitions, "state_s": dict(durations)}


def _night_images(session, ymd: str, start: datetime, end: datetime) -> list[Image]:
    in_window = and_(Image.night.is_(None), Image.date_obs >= start, Image.date_obs <= end)
    return list(
        session.scalars(
            select(Image)
            .where(or_(Image.night == ymd, in_window))
            .order_by(Image.date_obs, Image.id)
        )
    )


def _frame(image: Image) -> Interval:
    return (image.date_obs, image.date_obs + timedelta(seconds=image.exposure_s))


def _executions(images: list[Image]) -> dict[int, list[dict]]:
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
            last_end = max(last_end or _frame(image)[1], _frame(image)[1])
        blocks[sequence_id] = [
            {
                "start": iso(run[0].date_obs),
                "end": iso(max(_frame(i)[1] for i in run)),
                "frames": len(run),
            }
            for run in runs
        ]
    return blocks


def _schedules(session, night: date) -> tuple[dict, dict[int, list[dict]]]:
    schedules = list(
        session.scalars(
            select(Schedule).where(Schedule.night == night).order_by(Schedule.created, Schedule.id)
        )
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
        .where(Schedule.night == night)
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


def _sequences(session, start, end, planned, blocks, images) -> list[dict]:
    ids = set(planned) | set(blocks)
    changed = select(Sequence.id).where(
        Sequence.status_changed >= start, Sequence.status_changed <= end
    )
    ids |= set(session.scalars(changed))
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


def _images(images: list[Image]) -> dict:
    by_type = Counter(i.image_type for i in images)
    science: dict[tuple[str, str], dict] = {}
    for image in images:
        if image.image_type != "light":
            continue
        key = (image.channel, image.filter_name or "")
        row = science.setdefault(
            key, {"channel": key[0], "filter": key[1], "count": 0, "exposure_s": 0.0}
        )
        row["count"] += 1
        row["exposure_s"] += image.exposure_s
    last_per_key: dict[tuple[str, str], Image] = {}
    for image in images:
        if image.image_type == "light":
            last_per_key[(image.channel, image.filter_name or "")] = image
    previews = [
        {
            "image_id": image.id,
            "path": image.path,
            "channel": image.channel,
            "filter": image.filter_name,
            "object": image.object_name,
            "date_obs": iso(image.date_obs),
            "exposure_s": image.exposure_s,
        }
        for _, image in sorted(last_per_key.items())[:MAX_PREVIEWS]
    ]
    return {
        "total": len(images),
        "by_type": dict(sorted(by_type.items())),
        "science": [science[k] for k in sorted(science)],
        "previews": previews,
    }


def _alerts(session, start: datetime, end: datetime) -> list[dict]:
    alerts = list(
        session.scalars(
            select(Alert)
            .where(Alert.received >= start, Alert.received <= end)
            .order_by(Alert.received, Alert.id)
        )
    )
    decisions: dict[int, list[dict]] = defaultdict(list)
    if alerts:
        for d in session.scalars(
            select(AlertDecision)
            .where(AlertDecision.alert_id.in_([a.id for a in alerts]))
            .order_by(AlertDecision.time, AlertDecision.id)
        ):
            decisions[d.alert_id].append(
                {"time": iso(d.time), "action": d.action, "reason": d.reason}
            )
    boxes: dict[int, dict] = {}
    if alerts:
        for box in session.scalars(
            select(ErrorBoxReport)
            .where(ErrorBoxReport.alert_id.in_([a.id for a in alerts]))
            .order_by(ErrorBoxReport.created, ErrorBoxReport.id)
        ):  # the latest report of each alert
            boxes[box.alert_id] = {
                "created": iso(box.created),
                "images": box.n_images,
                "candidates": box.n_candidates,
            }
    out = []
    for a in alerts:
        steps = {k: v for k, v in (a.latency_ms or {}).items() if k != "arrived_unix"}
        chain = [
            {"step": k, "ms": float(v)} for k, v in sorted(steps.items(), key=lambda kv: kv[1])
        ]
        out.append(
            {
                "id": a.id,
                "mission": a.mission,
                "notice_type": a.notice_type,
                "trigger_id": a.trigger_id,
                "kind": a.kind,
                "source": a.source,
                "status": a.status,
                "reason": a.reason,
                "received": iso(a.received),
                "event_time": iso(a.event_time),
                "ra_deg": a.ra_deg,
                "dec_deg": a.dec_deg,
                "error_radius_deg": a.error_radius_deg,
                "request_id": a.request_id,
                "latency_chain": chain,
                "decisions": decisions.get(a.id, []),
                "error_box": boxes.get(a.id),
            }
        )
    return out


def _calibrations(session, images: list[Image], ymd: str) -> dict:
    groups: Counter[tuple] = Counter()
    for i in images:
        if i.image_type in ("bias", "dark", "flat"):
            groups[(i.image_type, i.channel, i.filter_name or "", i.exposure_s)] += 1
    masters = session.scalars(
        select(MasterFrame).where(MasterFrame.night == ymd).order_by(MasterFrame.id)
    )
    return {
        "frames": [
            {"type": t, "channel": c, "filter": f, "exposure_s": e, "count": n}
            for (t, c, f, e), n in sorted(groups.items())
        ],
        "masters": [
            {
                "kind": m.kind,
                "channel": m.channel,
                "filter": m.filter_name,
                "exposure_s": m.exposure_s,
                "n_frames": m.n_frames,
                "valid": m.is_valid,
            }
            for m in masters
        ],
    }


def _quota(session, start: datetime, end: datetime) -> list[dict]:
    """Hours charged tonight per program: sequences executed tonight, and those failed by the
    request's own fault (a failure that is not the user's is refunded and back to the pool)."""
    charged = session.scalars(
        select(Sequence)
        .where(
            Sequence.status.in_([S.EXECUTED, S.FAILED]),
            Sequence.status_changed >= start,
            Sequence.status_changed <= end,
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


def _faults(session, start: datetime, end: datetime, sequences: list[dict]) -> list[dict]:
    """Device faults and recoveries: the majordome's error state (entered, left), warnings
    and errors of the log table, device failures of sequences, devices in error now."""
    history = list(
        session.scalars(
            select(MajordomeHistory)
            .where(MajordomeHistory.time >= start, MajordomeHistory.time <= end)
            .order_by(MajordomeHistory.time, MajordomeHistory.id)
        )
    )
    faults = []
    for i, row in enumerate(history):
        if row.to_state != "error":
            continue
        recovered = next((h for h in history[i + 1 :] if h.from_state == "error"), None)
        faults.append(
            {
                "time": iso(row.time),
                "source": "majordome",
                "message": row.reason,
                "recovered": iso(recovered.time) if recovered else None,
                "recovery": recovered.reason if recovered else None,
                "down_s": (recovered.time - row.time).total_seconds() if recovered else None,
            }
        )
    for entry in session.scalars(
        select(LogEntry)
        .where(LogEntry.time >= start, LogEntry.time <= end)
        .where(LogEntry.level.in_(FAULT_LOG_LEVELS))
        .order_by(LogEntry.time, LogEntry.id)
    ):
        faults.append(_fault(entry.time, f"log {entry.level} {entry.source}", entry.message))
    for s in sequences:
        if s["reason"].startswith("device") and s["status_changed"]:
            when = datetime.fromisoformat(s["status_changed"])
            faults.append(_fault(when, f"sequence {s['id']}", s["reason"]))
    for device in session.scalars(
        select(DeviceStatus).where(
            DeviceStatus.state.in_(("error", "offline")),
            DeviceStatus.updated >= start,
            DeviceStatus.updated <= end,
        )
    ):  # only the last state of each device is stored: one still in error at the end
        message = f"{device.state}: {device.last_error}".strip(": ")
        faults.append(_fault(device.updated, f"device {device.role}", message))
    return sorted(faults, key=lambda f: f["time"])


def _fault(when: datetime, source: str, message: str) -> dict:
    return {
        "time": iso(when),
        "source": source,
        "message": message,
        "recovered": None,
        "recovery": None,
        "down_s": None,
    }


def _efficiency(dark: list[Interval], safe: list[Interval], images: list[Image]) -> dict:
    dark_safe = intersect(dark, safe)
    shutter = union(_frame(i) for i in images if i.image_type == "light")
    science_s = total_s(intersect(shutter, dark_safe))
    dark_safe_s = total_s(dark_safe)
    return {
        "dark_s": total_s(dark),
        "dark_safe_s": dark_safe_s,
        "science_open_s": science_s,
        "science_open_total_s": total_s(shutter),
        "efficiency": science_s / dark_safe_s if dark_safe_s > 0 else None,
        "definition": EFFICIENCY_DEFINITION,
    }
