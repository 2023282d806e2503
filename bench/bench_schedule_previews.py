"""Benchmark of the schedule's sky and the dashboard's previews (issue 14), printed, never
asserted: the schedule page with its sky computed (first view of a plan) and kept (every
later view), a PNG preview made from a FITS frame and served from the disk cache, and the
dashboard while a sequence executes. In-process Flask client, SQLite, the manual clock at
2026-11-25 04:00 UTC, the ten routine example requests planned by the real planner.

    .venv/bin/python bench/bench_schedule_previews.py   (BENCH_N=30 views per figure)
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from astropy.io import fits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from orchestrator.bootstrap import init_site  # noqa: E402
from orchestrator.clock import ManualClock  # noqa: E402
from orchestrator.config import default_config_text, parse_config  # noqa: E402
from orchestrator.majordome.states import State, StateStore  # noqa: E402
from orchestrator.model import Image, Schedule  # noqa: E402
from orchestrator.observer.fits import write_fits  # noqa: E402
from orchestrator.planner.service import replan  # noqa: E402
from orchestrator.requests.builder import RequestBuilder  # noqa: E402
from orchestrator.requests.xml_io import submit_xml  # noqa: E402
from orchestrator.runtime import Runtime  # noqa: E402
from web import create_app  # noqa: E402

N = int(os.environ.get("BENCH_N", "30"))
FRAME_PX = 2048  # a 2k x 2k frame, float32 (16 MB)
ADMIN = "bench-admin-password"
EXAMPLES = sorted((Path(__file__).parents[1] / "simulators" / "resources").glob("routine_*.xml"))


def ms(samples: list[float]) -> tuple[float, float]:
    samples = sorted(samples)
    return statistics.median(samples) * 1e3, samples[int(0.95 * (len(samples) - 1))] * 1e3


def timed(call, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        call()
        out.append(time.perf_counter() - t0)
    return out


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="bench-webviz-"))
    text = default_config_text().replace("sqlite:///var/pyros.db", f"sqlite:///{folder}/pyros.db")
    config = parse_config(text, folder)
    clock = ManualClock(datetime(2026, 11, 25, 4, 0, tzinfo=UTC))
    runtime = Runtime(config, clock)
    init_site(runtime, ADMIN)
    builder = RequestBuilder(config, clock)
    for path in EXAMPLES:
        submit_xml(builder, runtime.sessions, path.read_bytes(), path.name, "admin")
    replan(runtime, "bench")
    app = create_app(runtime)
    client = app.test_client()
    login = client.get("/login").get_data(as_text=True)
    token = login.split('name="csrf_token" value="')[1].split('"')[0]
    client.post("/login", data={"username": "admin", "password": ADMIN, "csrf_token": token})
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; N = {N}")

    with runtime.sessions() as session:
        entries = len(session.query(Schedule).one().entries)
    first = timed(lambda: client.get("/schedule"), 1)[0]
    p50, p95 = ms(timed(lambda: client.get("/schedule"), N))
    print(f"schedule page, {entries} entries: first view (sky computed) {first * 1e3:.0f} ms; "
          f"later views p50 {p50:.1f} ms p95 {p95:.1f} ms")  # fmt: skip
    size = len(client.get("/api/schedule").data)
    p50, p95 = ms(timed(lambda: client.get("/api/schedule"), N))
    print(f"/api/schedule (sky kept) p50 {p50:.1f} ms p95 {p95:.1f} ms, {size / 1024:.0f} KB")

    rng = np.random.default_rng(1)
    frame = rng.normal(1000.0, 12.0, (FRAME_PX, FRAME_PX)).astype(np.float32)
    path = write_fits(folder / "images" / "frame.fits", frame, fits.Header())
    with runtime.sessions.begin() as session:
        schedule = session.query(Schedule).one()
        sequence_id = schedule.entries[0].sequence_id
        image = Image(
            path=str(path), image_type="light", channel="VIS", date_obs=clock.now(),
            night="20261124", exposure_s=60.0, filter_name="r", object_name="bench",
            sequence_id=sequence_id,
        )  # fmt: skip
        session.add(image)
        session.flush()
        image_id = image.id
    url = f"/images/{image_id}/preview.png"
    made = timed(lambda: client.get(url), 1)[0]
    p50, p95 = ms(timed(lambda: client.get(url), N))
    png = len(client.get(url).data)
    print(
        f"preview of a {FRAME_PX}x{FRAME_PX} float32 frame: made in {made * 1e3:.0f} ms "
        f"({png / 1024:.0f} KB PNG); from the disk cache p50 {p50:.1f} ms p95 {p95:.1f} ms"
    )

    p50, p95 = ms(timed(lambda: client.get("/"), N))
    print(f"dashboard / with no sequence executing: p50 {p50:.1f} ms p95 {p95:.1f} ms")
    store = StateStore(runtime)
    store.move(State.NIGHT_WAITING, "bench")
    store.move(State.OBSERVING, "bench")
    store.set(current_sequence_id=sequence_id)
    p50, p95 = ms(timed(lambda: client.get("/"), N))
    print(f"dashboard / with a sequence executing: p50 {p50:.1f} ms p95 {p95:.1f} ms")
    runtime.engine.dispose()


if __name__ == "__main__":
    main()
