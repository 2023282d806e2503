"""Benchmark of the web app over a year of weather history: disk size, `/api/environment`
over 24 h, 7 days and a year, the dashboard, and `/api/status` with 8 clients on waitress.

History: one row a minute over BENCH_DAYS days (default 365: the issue's 525,600 rows), stored
as the gateway stores it (plotted figures in columns, the ~2 KB synthesis JSON only where the
decision changes, here every 10 h), then the gateway's upkeep folds the rows older than
`gateway.history_full_days` into 5-minute buckets. Prints figures; asserts nothing.
Run: .venv/bin/python bench/bench_web.py
"""

from __future__ import annotations

import http.client
import json
import logging
import math
import os
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sqlalchemy import insert, text  # noqa: E402

from orchestrator.bootstrap import init_site  # noqa: E402
from orchestrator.clock import ManualClock  # noqa: E402
from orchestrator.config import default_config_text, parse_config  # noqa: E402
from orchestrator.model.watches import WeatherWatchHistory  # noqa: E402
from orchestrator.runtime import Runtime  # noqa: E402
from plc_gateway.history import maintain  # noqa: E402
from web import create_app  # noqa: E402

DAYS = int(os.environ.get("BENCH_DAYS", "365"))
NOW = datetime(2026, 11, 25, 4, tzinfo=UTC)
SYNTHESIS = {
    "elements": {f"element_{i}": {"value": i, "interpretation": "x" * 60} for i in range(24)}
}


def fill(runtime: Runtime) -> int:
    """One row a minute; unsafe one hour in ten (a decision change keeps its synthesis)."""
    rows = DAYS * 1440
    start = NOW - timedelta(days=DAYS)
    with runtime.engine.begin() as conn:
        batch = []
        for i in range(rows):
            day = 2 * math.pi * (i % 1440) / 1440
            safe = i % 600 > 60
            batch.append(
                {
                    "measured": start + timedelta(minutes=i),
                    "is_safe": safe,
                    "unsafe_reasons": "" if safe else "rain_rate: light rain",
                    "rain_rate_mm_h": 0.0 if safe else 1.5,
                    "wind_speed_m_s": 3 + (i % 17) / 4,  # the PLC's figures: 1-2 decimals
                    "wind_direction_deg": 180.0 + i % 90,
                    "humidity_pct": round(55 - 12 * math.cos(day), 1),
                    "temperature_c": round(9 + 5 * math.cos(day), 2),
                    "dew_point_c": round(-3.0 + math.sin(day), 1),
                    "pressure_hpa": round(769.2 + 0.8 * math.cos(2 * day), 1),
                    "sky_minus_ambient_c": round(-39.0 + (i % 7) / 3, 2),
                    "synthesis": SYNTHESIS if i % 600 in (0, 61) else None,
                }
            )
            if len(batch) == 5000:
                conn.execute(insert(WeatherWatchHistory), batch)
                batch = []
        if batch:
            conn.execute(insert(WeatherWatchHistory), batch)
    return rows


def disk_mb(runtime: Runtime, path: Path) -> tuple[float, float]:
    """(database file, WAL file) in MB after VACUUM and a checkpoint (what a year leaves)."""
    with runtime.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM"))
        conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    wal = path.with_name(path.name + "-wal")
    return path.stat().st_size / 1e6, (wal.stat().st_size / 1e6 if wal.exists() else 0.0)


def timed(client, url: str, n: int, headers=None) -> tuple[float, float, float, int]:
    """p50 and p95 wall ms, p50 CPU ms of this process (less sensitive to a shared machine)."""
    times, cpu = [], []
    size = 0
    for _ in range(n):
        t0, c0 = time.perf_counter(), time.process_time()
        response = client.get(url, headers=headers or {})
        times.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
        size = len(response.data)
        assert response.status_code == 200, response.data[:200]
    times.sort()
    p95 = times[int(0.95 * (len(times) - 1))]
    return statistics.median(times), p95, statistics.median(cpu), size


def status_load(app, seconds: float = 5.0, clients: int = 8) -> tuple[float, float]:
    from waitress import wasyncore
    from waitress.server import create_server

    server = create_server(app, host="127.0.0.1", port=0, threads=8)
    port = server.effective_port
    stopped = threading.Event()

    def serve():
        while not stopped.is_set():
            server.asyncore.loop(timeout=0.1, map=server._map, count=1)
        wasyncore.close_all(map=server._map)
        server.task_dispatcher.shutdown()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    latencies: list[float] = []
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", port)
        mine = []
        while time.perf_counter() < stop:
            t0 = time.perf_counter()
            conn.request("GET", "/api/status")
            response = conn.getresponse()
            response.read()
            mine.append((time.perf_counter() - t0) * 1000)
        with lock:
            latencies.extend(mine)

    workers = [threading.Thread(target=worker) for _ in range(clients)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    stopped.set()
    thread.join(5)
    latencies.sort()
    return len(latencies) / seconds, latencies[int(0.95 * (len(latencies) - 1))]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        config = parse_config(default_config_text(), Path(tmp))
        runtime = Runtime(config, ManualClock(NOW))
        init_site(runtime, "bench-password")
        path = Path(tmp) / "var" / "pyros.db"
        t0 = time.perf_counter()
        rows = fill(runtime)
        print(f"history: {rows} one-minute rows ({DAYS} days) in {time.perf_counter() - t0:.0f} s; "
              f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")  # fmt: skip
        db_mb, wal_mb = disk_mb(runtime, path)
        print(f"SQLite, every row kept (JSON on changes): {db_mb:.0f} MB + WAL {wal_mb:.0f} MB")
        t0 = time.perf_counter()
        upkeep = maintain(runtime.sessions, NOW, config.gateway)
        gateway = config.gateway
        print(f"upkeep: {upkeep.rows_folded} rows folded into {upkeep.buckets_added} buckets "
              f"({gateway.history_bucket_s} s and hourly), {upkeep.rows_deleted} rows older "
              f"than {gateway.history_full_days:g} days deleted, "
              f"in {time.perf_counter() - t0:.1f} s")  # fmt: skip
        db_mb, wal_mb = disk_mb(runtime, path)
        print(f"SQLite after the upkeep: {db_mb:.0f} MB + WAL {wal_mb:.0f} MB")
        t0 = time.perf_counter()
        upkeep = maintain(runtime.sessions, NOW + timedelta(hours=1), config.gateway)
        print(f"upkeep an hour later: {upkeep.rows_folded} rows folded in "
              f"{(time.perf_counter() - t0) * 1000:.0f} ms")  # fmt: skip
        app = create_app(runtime)
        logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # "Task queue depth is 1"
        client = app.test_client()
        gz = {"Accept-Encoding": "gzip"}
        for label, url in (
            ("24 h", "/api/environment?hours=24"),
            ("7 days", "/api/environment?hours=168"),
            ("1 year (bucketed)", "/api/environment?hours=8760"),
        ):
            p50, p95, cpu, size = timed(client, url, 50)
            *_, zsize = timed(client, url, 3, gz)
            print(f"environment {label:18} p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  CPU p50 {cpu:5.1f}"
                  f" ms  {size / 1e3:4.0f} KB ({zsize / 1e3:.0f} KB gzip)")  # fmt: skip
        last = json.loads(client.get("/api/environment?hours=24").data)["history"][-2]["t"]
        p50, p95, cpu, size = timed(client, f"/api/environment?since={last}", 50)
        print(f"environment incremental (since)  p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  "
              f"CPU p50 {cpu:5.1f} ms  {size} B")  # fmt: skip
        p50, p95, cpu, _ = timed(client, "/", 50)
        print(f"dashboard /                      p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  "
              f"CPU p50 {cpu:5.1f} ms")  # fmt: skip
        rate, p95 = status_load(app)
        print(f"/api/status, 8 clients, waitress: {rate:.0f} req/s, p95 {p95:.1f} ms; "
              f"load average {os.getloadavg()[0]:.1f}")  # fmt: skip


if __name__ == "__main__":
    main()
