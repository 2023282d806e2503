"""The facts of one night, read from the database: JSON-able, the same for the HTML and JSON.

The night of date D runs from sunset on D to sunrise the next morning at the site (local noon
to local noon where the Sun does not set or rise). Images and calibrations are those filed
under the night D (`image.night`, the local date at the start of the night), so darks taken
after sunrise still count.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta

from sqlalchemy import and_, or_, select

from orchestrator.majordome.night import times_for
from orchestrator.model import Image, MajordomeHistory, MajordomeState, MasterFrame
from orchestrator.planner.night import Site, local_noon_utc
from orchestrator.report import incidents, sequences
from orchestrator.report.intervals import Interval, intersect, total_s, union
from orchestrator.report.sequences import frame_interval
from orchestrator.report.weather import iso, weather_facts

MAX_PREVIEWS = 6
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

    Keys: night, site, generated, window, telescope, timeline, weather, schedule, sequences,
    images, alerts, calibrations, quota, faults, efficiency. In a network (another telescope's
    majordome row in the database) the timeline, schedules, images, sequences, quota and
    faults are this telescope's (`[telescope] name`); the weather and alerts are the site's.
    Times are ISO 8601 UTC strings, durations seconds.

    Efficiency = |U ∩ D ∩ S| / |D ∩ S| (None when D ∩ S is empty), where
    D = [dusk, dawn] at the site's twilight (the dark time; empty where there is none),
    S = the intervals the gateway's weather history says safe (a row holds until the next row,
        at most `weather.hold_s`; missing data is unsafe),
    U = the union over all cameras of [DATE-OBS, DATE-OBS + exposure] of the night's science
        (light) frames: two cameras exposing together count once, a frame taken while unsafe
        or outside the dark time does not count (`science_open_total_s` counts it).
    """
    config = runtime.config
    start, end, times = night_window(config, night)
    ymd = f"{night:%Y%m%d}"
    telescope = config.telescope.name
    with runtime.sessions() as session:
        weather, safe = weather_facts(session, config, start, end)
        images = _night_images(session, ymd, start, end, telescope)
        schedule, planned_by_sequence = sequences.schedules(session, night, telescope)
        blocks = sequences.executions(images)
        # in a network, only the sequences this telescope planned or took frames of
        alone = not _other_telescopes(session, telescope)
        seqs = sequences.sequences(
            session, start, end, planned_by_sequence, blocks, images, changed=alone
        )
        charged = None if alone else {s["id"] for s in seqs}
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
            "telescope": telescope,
            "timeline": _timeline(session, start, end, telescope),
            "weather": weather,
            "schedule": schedule,
            "sequences": seqs,
            "images": _images(images),
            "alerts": incidents.alerts(session, start, end),
            "calibrations": _calibrations(session, images, ymd),
            "quota": sequences.quota(session, start, end, charged),
            "faults": incidents.faults(session, start, end, seqs, telescope),
        }
    dark = [(max(times.dusk, start), min(times.dawn, end))] if times.dusk and times.dawn else []
    facts["efficiency"] = _efficiency(dark, safe, images)
    return facts


def _timeline(session, start: datetime, end: datetime, telescope: str = "main") -> dict:
    """This telescope's majordome states through the night (a network: each has its own)."""
    mine = MajordomeHistory.telescope == telescope
    before = session.scalar(
        select(MajordomeHistory)
        .where(MajordomeHistory.time < start, mine)
        .order_by(MajordomeHistory.time.desc(), MajordomeHistory.id.desc())
        .limit(1)
    )
    rows = list(
        session.scalars(
            select(MajordomeHistory)
            .where(MajordomeHistory.time >= start, MajordomeHistory.time <= end, mine)
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


def _night_images(session, ymd: str, start: datetime, end: datetime, telescope: str):
    in_window = and_(Image.night.is_(None), Image.date_obs >= start, Image.date_obs <= end)
    return list(
        session.scalars(
            select(Image)
            .where(or_(Image.night == ymd, in_window), Image.telescope == telescope)
            .order_by(Image.date_obs, Image.id)
        )
    )


def _other_telescopes(session, telescope: str) -> bool:
    """A network shares this database: another telescope has its own majordome row."""
    other = select(MajordomeState.telescope).where(MajordomeState.telescope != telescope)
    return session.scalar(other.limit(1)) is not None


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


def _efficiency(dark: list[Interval], safe: list[Interval], images: list[Image]) -> dict:
    dark_safe = intersect(dark, safe)
    shutter = union(frame_interval(i) for i in images if i.image_type == "light")
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
