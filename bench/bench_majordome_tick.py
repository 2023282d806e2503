"""Majordome tick cost with 500 sequences in the database (SQLite, WAL), target <= 5 ms.

500 planned sequences, a schedule of 500 entries (none due yet, so each tick runs the whole
NIGHT_WAITING path: stored state, tonight's times, is_safe() with the disk check, the next
due entry, the stored reason). Run: .venv/bin/python bench/bench_majordome_tick.py [ticks]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from orchestrator import db  # noqa: E402
from orchestrator.bootstrap import init_site  # noqa: E402
from orchestrator.clock import ManualClock  # noqa: E402
from orchestrator.config import default_config_text, parse_config  # noqa: E402
from orchestrator.devices.registry import Devices  # noqa: E402
from orchestrator.majordome.core import Majordome  # noqa: E402
from orchestrator.majordome.safety import Verdict  # noqa: E402
from orchestrator.majordome.states import State  # noqa: E402
from orchestrator.majordome.tick import tick  # noqa: E402
from orchestrator.model import Request, Schedule, ScheduleEntry, Sequence, User  # noqa: E402
from orchestrator.runtime import Runtime  # noqa: E402

SEQUENCES = 500


def setup(folder: Path) -> Majordome:
    now = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)  # night at the site
    runtime = Runtime(parse_config(default_config_text(), folder), ManualClock(now))
    db.upgrade(runtime.engine)
    init_site(runtime, "bench-password-1")
    with runtime.sessions.begin() as session:
        user = session.query(User).first()
        request = Request(name="bench", user=user, submitted=now, source="api")
        session.add(request)
        schedule = Schedule(
            created=now,
            night=now.date(),
            night_start=now,
            night_end=now + timedelta(hours=9),
            trigger="bench",
        )
        for i in range(SEQUENCES):
            start = now + timedelta(minutes=10 + i)
            sequence = Sequence(
                name=f"s{i}",
                target_name=f"t{i}",
                ra_deg=i * 0.7,
                dec_deg=30.0,
                window_start=now,
                window_end=now + timedelta(days=30),
                duration_s=60.0,
            )
            sequence.plan(now)
            request.sequences.append(sequence)
            session.flush()
            schedule.entries.append(
                ScheduleEntry(
                    sequence_id=sequence.id, start=start, end=start + timedelta(minutes=1)
                )
            )
        session.add(schedule)
    majordome = Majordome(runtime, Devices(), observer=None)
    majordome.store.move(State.DAY, "bench")
    majordome.store.move(State.NIGHT_WAITING, "bench")
    majordome.verdict = Verdict(True)
    return majordome


def main(ticks: int = 300) -> None:
    majordome = setup(Path(tempfile.mkdtemp(prefix="bench-tick-")))
    tick(majordome)  # warm-up: tonight's times (astroplan) are computed once per night
    samples = []
    for _ in range(ticks):
        started = time.perf_counter()
        state = tick(majordome)
        samples.append((time.perf_counter() - started) * 1000)
    assert state is State.NIGHT_WAITING, state
    samples.sort()
    print(
        f"majordome tick, {SEQUENCES} planned sequences, {SEQUENCES} schedule entries, "
        f"SQLite WAL, {ticks} ticks: median {statistics.median(samples):.2f} ms, "
        f"p95 {samples[int(0.95 * len(samples)) - 1]:.2f} ms, max {samples[-1]:.2f} ms "
        "(target <= 5 ms)"
    )


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:2]))
