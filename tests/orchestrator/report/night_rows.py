"""One night's worth of rows, written through the model: what the night report is tested on.

The night of 2026-11-24 at the default site: weather every minute with one hour of rain and a
ten-minute hole in the gateway's history, a majordome timeline with a device error and its
recovery, three sequences (executed, failed by the weather, never observed) over two
schedules, real FITS files written by the observer's FITS writer, an alert with its latency
chain, calibration frames and a warning in the log table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
from sqlalchemy import select

from orchestrator.bootstrap import init_site
from orchestrator.majordome.night import times_for
from orchestrator.model import (
    Album,
    Alert,
    AlertDecision,
    ErrorBoxReport,
    LogEntry,
    MajordomeHistory,
    Plan,
    Request,
    Schedule,
    ScheduleEntry,
    ScientificProgram,
    Sequence,
    SequenceStatus,
    WeatherWatchHistory,
)
from orchestrator.observer.fits import Exposure, save_image
from orchestrator.report.collect import night_window
from orchestrator.users import add_user

NIGHT = date(2026, 11, 24)
RAIN = (120, 180)  # minutes after dusk: unsafe (rain)
HOLE = (300, 310)  # minutes after dusk: no weather row at all
MIN = timedelta(minutes=1)


@dataclass
class Night:
    dusk: datetime
    dawn: datetime
    start: datetime
    end: datetime
    executed_id: int
    weather_failed_id: int
    unobserved_id: int
    schedule_ids: tuple[int, int]


def _frame(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    data = rng.normal(1000.0, 10.0, (64, 64))
    for y, x in rng.integers(5, 59, (6, 2)):
        data[y - 2 : y + 3, x - 2 : x + 3] += 2000.0  # a few "stars"
    return data.astype(np.float32)


def _sequence(name: str, target: str, start: datetime, channels: dict[str, str]) -> Sequence:
    sequence = Sequence(
        name=name,
        target_name=target,
        ra_deg=83.8,
        dec_deg=-5.4,
        window_start=start - timedelta(hours=3),
        window_end=start + timedelta(hours=10),
        duration_s=900.0,
    )
    for channel, filter_name in channels.items():
        sequence.albums.append(
            Album(channel=channel, plans=[Plan(filter_name=filter_name, exposure_s=60.0, count=3)])
        )
    return sequence


def build_night(runtime) -> Night:
    init_site(runtime, "admin-password-1")
    start, end, times = night_window(runtime.config, NIGHT)
    dusk, dawn = times.dusk, times.dawn
    assert times == times_for(runtime.config, NIGHT)
    with runtime.sessions.begin() as session:
        user = add_user(session, start, "alice", "observer", "alice-password-1", programs=["GRB"])
        program = session.scalar(select(ScientificProgram).where(ScientificProgram.name == "GRB"))
        executed = _sequence("grb seq", "GRB 261124A", dusk, {"VIS": "r", "NIR": "J"})
        failed = _sequence("m42 seq", "M42", dusk, {"VIS": "r"})
        unobserved = _sequence("m31 seq", "M31", dusk, {"VIS": "g"})
        session.add(
            Request(
                name="grb",
                user=user,
                program=program,
                is_alert=True,
                submitted=start,
                source="alert",
                sequences=[executed],
            )
        )
        session.add(
            Request(
                name="routine",
                user=user,
                program=program,
                submitted=start,
                source="api",
                sequences=[failed, unobserved],
            )
        )
        session.flush()
        executed.status, executed.status_changed = SequenceStatus.EXECUTED, dusk + 14 * MIN
        failed.status, failed.status_reason = SequenceStatus.TO_BE_PLANNED, "weather: rain"
        failed.status_changed = dusk + 120 * MIN
        unobserved.status = SequenceStatus.PLANNED
        first = Schedule(
            created=dusk - 5 * MIN,
            night=NIGHT,
            night_start=dusk,
            night_end=dawn,
            trigger="new night",
        )
        first.entries = [
            ScheduleEntry(sequence=executed, start=dusk + 8 * MIN, end=dusk + 15 * MIN),
            ScheduleEntry(sequence=failed, start=dusk + 20 * MIN, end=dusk + 35 * MIN),
            ScheduleEntry(sequence=unobserved, start=dusk + 40 * MIN, end=dusk + 55 * MIN),
        ]
        second = Schedule(
            created=dusk + 60 * MIN,
            night=NIGHT,
            night_start=dusk,
            night_end=dawn,
            trigger="sequence ended",
        )
        second.entries = [
            ScheduleEntry(sequence=failed, start=dusk + 115 * MIN, end=dusk + 130 * MIN),
            ScheduleEntry(sequence=unobserved, start=dusk + 200 * MIN, end=dusk + 215 * MIN),
        ]
        session.add_all([first, second])
        _history(session, start, dusk, dawn)
        _weather(session, start, end, dusk)
        alert = Alert(
            ivorn="ivo://svom/261124A",
            mission="SVOM",
            notice_type="ECLAIRs",
            received=dusk + 9 * MIN,
            payload="<voe/>",
            source="folder",
            trigger_id="SVOM:261124A",
            kind="position",
            status="observed",
            request_id=executed.request_id,
            latency_ms={
                "arrived_unix": 1.0,
                "received": 0.0,
                "stored": 12.5,
                "parsed": 4.0,
                "request": 30.0,
                "schedule": 80.0,
                "majordome": 95.0,
                "slew": 410.0,
            },
        )
        session.add(alert)
        session.flush()
        session.add(
            AlertDecision(
                alert_id=alert.id,
                time=dusk + 9 * MIN,
                action="observe",
                reason="SVOM position, visible",
                request_id=alert.request_id,
            )
        )
        session.add(
            ErrorBoxReport(
                alert_id=alert.id,
                created=dusk + 16 * MIN,
                ra_deg=83.8,
                dec_deg=-5.4,
                radius_deg=0.1,
                n_images=5,
                n_candidates=1,
                text="draft",
                details="{}",
            )
        )
        session.add(
            LogEntry(
                time=dusk + 185 * MIN,
                level="WARNING",
                source="devices",
                message="camera_vis: expose: timeout",
            )
        )
        ids = (executed.id, failed.id, unobserved.id, first.id, second.id)
    _images(runtime, dusk, ids[0], ids[1])
    return Night(dusk, dawn, start, end, ids[0], ids[1], ids[2], (ids[3], ids[4]))


def _history(session, start: datetime, dusk: datetime, dawn: datetime) -> None:
    rows = [  # added out of time order: the report sorts by time
        (dusk + 2 * MIN, "night_waiting", "opening", "sequence 1 due"),
        (dusk + 1 * MIN, "day", "night_waiting", "night"),
        (start - 60 * MIN, "startup", "day", "startup: day"),
        (dusk + 4 * MIN, "opening", "observing", "sequence 1 due"),
        (dusk + 120 * MIN, "observing", "closing", "weather: rain"),
        (dusk + 121 * MIN, "closing", "closed_weather", "weather: rain"),
        (dusk + 180 * MIN, "closed_weather", "night_waiting", "safe again"),
        (dusk + 185 * MIN, "night_waiting", "error", "camera_vis: expose: timeout"),
        (dusk + 190 * MIN, "error", "startup", "leaving error"),
        (dusk + 191 * MIN, "startup", "night_waiting", "startup: night"),
        (dawn + 5 * MIN, "night_waiting", "darks_bias", "night over"),
    ]
    for when, frm, to, why in rows:
        session.add(MajordomeHistory(time=when, from_state=frm, to_state=to, reason=why))


def _weather(session, start: datetime, end: datetime, dusk: datetime) -> None:
    k = int((start - dusk).total_seconds() // 60) - 2
    while dusk + k * MIN <= end + MIN:
        if not HOLE[0] < k < HOLE[1]:
            rain = RAIN[0] <= k < RAIN[1]
            session.add(
                WeatherWatchHistory(
                    measured=dusk + k * MIN,
                    is_safe=not rain,
                    unsafe_reasons="rain_rate: 1.2 mm/h > 0" if rain else "",
                    rain_rate_mm_h=1.2 if rain else 0.0,
                    wind_speed_m_s=4.0 + (k % 7),
                    humidity_pct=90.0 if rain else 40.0,
                    temperature_c=2.0,
                    dew_point_c=-8.0,
                    sky_minus_ambient_c=-10.0 if rain else -30.0,
                    synthesis={},
                )
            )
        k += 1


def _images(runtime, dusk: datetime, executed_id: int, failed_id: int) -> None:
    def light(channel, filter_name, minutes, sequence_id, name):
        save_image(
            runtime,
            _frame(int(minutes * 10)),
            Exposure(
                channel=channel,
                image_type="light",
                date_obs=dusk + minutes * MIN,
                exposure_s=60.0,
                filter_name=filter_name,
                object_name=name,
                sequence_id=sequence_id,
            ),
        )

    for m in (10, 11, 12):  # VIS and NIR expose at once: their union counts, not their sum
        light("VIS", "r", m, executed_id, "GRB 261124A")
    for m in (10, 11):
        light("NIR", "J", m, executed_id, "GRB 261124A")
    light("VIS", "r", 118, failed_id, "M42")  # before the rain
    light("VIS", "r", 150, None, "M42")  # shutter open while unsafe (a forced test frame)
    for i, (kind, exposure_s, filter_name) in enumerate(
        [("bias", 0.0, None)] * 2 + [("dark", 60.0, None)] * 2 + [("flat", 2.0, "r")] * 3
    ):
        save_image(
            runtime,
            _frame(100 + i),
            Exposure(
                channel="VIS",
                image_type=kind,
                date_obs=dusk - 30 * MIN + i * MIN,
                exposure_s=exposure_s,
                filter_name=filter_name,
            ),
        )
