"""Night report cost on a busy night (SQLite, WAL): facts, HTML, files.

A night of 500 sequences (200 executed, 10 frames each over two cameras: 2,000 image rows),
100 re-plans of 250 entries (25,000 schedule entries), a weather row a minute, 600 majordome
transitions, 5 alerts; four real 2048x2048 FITS frames (the previews). Prints the time of
night_facts, of the HTML (plots + previews) and the sizes. No target: the report runs once a
night, off the majordome's tick. Run: .venv/bin/python bench/bench_report.py [repeats]
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from orchestrator import db  # noqa: E402
from orchestrator.bootstrap import init_site  # noqa: E402
from orchestrator.clock import ManualClock  # noqa: E402
from orchestrator.config import default_config_text, parse_config  # noqa: E402
from orchestrator.model import (  # noqa: E402
    Album,
    Alert,
    Image,
    MajordomeHistory,
    Plan,
    Request,
    Schedule,
    ScheduleEntry,
    Sequence,
    SequenceStatus,
    User,
    WeatherWatchHistory,
)
from orchestrator.observer.fits import Exposure, night_of, save_image  # noqa: E402
from orchestrator.report.collect import night_facts, night_window  # noqa: E402
from orchestrator.report.html import render_html  # noqa: E402
from orchestrator.report.nightly import write_night_report  # noqa: E402
from orchestrator.runtime import Runtime  # noqa: E402

NIGHT = date(2026, 11, 24)
SEQUENCES, EXECUTED, FRAMES = 500, 200, 10
SCHEDULES, ENTRIES = 100, 250
MIN = timedelta(minutes=1)


def build(folder: Path) -> Runtime:
    runtime = Runtime(
        parse_config(default_config_text(), folder),
        ManualClock(datetime(2026, 11, 25, 16, 0, tzinfo=UTC)),
    )
    db.upgrade(runtime.engine)
    init_site(runtime, "bench-password-1")
    start, end, times = night_window(runtime.config, NIGHT)
    dusk, dark_s = times.dusk, (times.dawn - times.dusk).total_seconds()
    site = runtime.config.site
    with runtime.sessions.begin() as session:
        user = session.query(User).first()
        request = Request(name="bench", user=user, submitted=start, source="api")
        session.add(request)
        sequences = []
        for i in range(SEQUENCES):
            s = Sequence(
                name=f"s{i}",
                target_name=f"T{i}",
                ra_deg=i % 360,
                dec_deg=10.0,
                window_start=start,
                window_end=end,
                duration_s=120.0,
            )
            s.albums = [
                Album(channel=c, plans=[Plan(filter_name=f, exposure_s=30.0, count=5)])
                for c, f in (("VIS", "r"), ("NIR", "J"))
            ]
            request.sequences.append(s)
            sequences.append(s)
        session.flush()
        slot_s = dark_s / EXECUTED
        for i, s in enumerate(sequences[:EXECUTED]):
            t0 = dusk + timedelta(seconds=i * slot_s)
            s.status, s.status_changed = SequenceStatus.EXECUTED, t0 + timedelta(seconds=120)
            for k in range(FRAMES):
                channel, filter_name = ("VIS", "r") if k % 2 == 0 else ("NIR", "J")
                when = t0 + timedelta(seconds=30 * (k // 2))
                session.add(
                    Image(
                        path=f"/bench/missing/{i}-{k}.fits",
                        image_type="light",
                        channel=channel,
                        date_obs=when,
                        night=night_of(when, site),
                        exposure_s=30.0,
                        filter_name=filter_name,
                        sequence_id=s.id,
                    )
                )
        for j in range(SCHEDULES):
            created = dusk + timedelta(seconds=j * dark_s / SCHEDULES)
            schedule = Schedule(
                created=created,
                night=NIGHT,
                night_start=dusk,
                night_end=times.dawn,
                trigger="sequence ended",
            )
            first = int(j * EXECUTED / SCHEDULES)
            schedule.entries = [
                ScheduleEntry(
                    sequence_id=sequences[(first + e) % SEQUENCES].id,
                    start=created + e * MIN,
                    end=created + (e + 2) * MIN,
                )
                for e in range(ENTRIES)
            ]
            session.add(schedule)
        k = 0
        while start + k * MIN <= end:
            session.add(
                WeatherWatchHistory(
                    measured=start + k * MIN,
                    is_safe=k % 97 > 5,
                    rain_rate_mm_h=0.0,
                    wind_speed_m_s=5.0,
                    humidity_pct=40.0,
                    synthesis={},
                )
            )
            k += 1
        for h in range(600):
            session.add(
                MajordomeHistory(
                    time=start + timedelta(seconds=h * 80),
                    from_state="night_waiting",
                    to_state="observing",
                    reason="sequence due",
                )
            )
        for a in range(5):
            session.add(
                Alert(
                    ivorn=f"ivo://bench/{a}",
                    mission="SVOM",
                    notice_type="x",
                    received=dusk + a * 60 * MIN,
                    payload="",
                    latency_ms={"received": 0, "stored": 10, "slew": 400},
                )
            )
    rng = np.random.default_rng(1)
    for c, f in (("VIS", "r"), ("NIR", "J"), ("VIS", "g"), ("NIR", "H")):
        data = rng.normal(1000, 10, (2048, 2048)).astype(np.float32)
        save_image(
            runtime,
            data,
            Exposure(
                channel=c,
                image_type="light",
                filter_name=f,
                date_obs=times.dawn - 5 * MIN,
                exposure_s=30.0,
            ),
        )
    return runtime


def main() -> None:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        runtime = build(folder)
        print(
            f"built in {time.perf_counter() - t0:.1f} s: {SEQUENCES} sequences, "
            f"{EXECUTED * FRAMES + 4} images, {SCHEDULES * ENTRIES} schedule entries"
        )
        facts_s, html_s, write_s = [], [], []
        for _ in range(repeats):
            t0 = time.perf_counter()
            facts = night_facts(runtime, NIGHT)
            facts_s.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            page = render_html(facts)
            html_s.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            html_path, json_path = write_night_report(runtime, NIGHT, folder / "reports")
            write_s.append(time.perf_counter() - t0)
        print(f"night_facts: median {statistics.median(facts_s):.2f} s ({repeats} runs)")
        print(
            f"render_html (3 plots, 4 previews of 2048x2048): median "
            f"{statistics.median(html_s):.2f} s"
        )
        print(
            f"write_night_report (facts + HTML + JSON): median {statistics.median(write_s):.2f} s"
        )
        print(
            f"HTML {html_path.stat().st_size / 1e6:.2f} MB, JSON "
            f"{json_path.stat().st_size / 1e6:.2f} MB, {len(facts['sequences'])} sequences, "
            f"efficiency {facts['efficiency']['efficiency']:.3f}"
        )
        assert len(page) > 0 and json.loads(json_path.read_text())["night"] == "2026-11-24"
        print(f"load average {os.getloadavg()[0]:.1f}, {os.cpu_count()} cores, SQLite")
        runtime.engine.dispose()


if __name__ == "__main__":
    main()
