"""Benchmark of request submission: XML parse + XSD validation, builder checks, and stored
requests per second on SQLite (the embedded default). Prints figures; asserts nothing.
Submissions are timed as an observer bound by quotas (the common case, and the one the
quota checks run for) and, separately, as `admin`, whose role skips the quota checks.

Run: .venv/bin/python bench/bench_requests.py
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from orchestrator.bootstrap import init_site  # noqa: E402
from orchestrator.clock import ManualClock  # noqa: E402
from orchestrator.config import default_config_text, parse_config  # noqa: E402
from orchestrator.requests.builder import RequestBuilder  # noqa: E402
from orchestrator.requests.xml_io import parse_request, request_to_xml, submit_xml  # noqa: E402
from orchestrator.runtime import Runtime  # noqa: E402
from orchestrator.users import add_user, find_program  # noqa: E402

EXAMPLES = sorted((REPO / "simulators" / "resources").glob("routine_request_*.xml"))
ROUNDS = 20


BENCH_USER = "bench-observer"


def _runtime(folder: str) -> Runtime:
    config = parse_config(default_config_text(), Path(folder))
    runtime = Runtime(config, ManualClock(datetime(2026, 11, 25, 4, tzinfo=UTC)))
    init_site(runtime, "bench-password")
    with runtime.sessions() as session:  # quotas large enough for every submission
        find_program(session, "ROUTINE").quota_h = 1e6
        add_user(
            session,
            runtime.clock.now(),
            BENCH_USER,
            "observer",
            "bench-password",
            programs=["ROUTINE"],
            quota_h=1e6,
        )
        session.commit()
    return runtime


def _submit_rate(username: str, files: list[bytes]) -> tuple[float, int]:
    """Submit every example ROUNDS times as `username` into a fresh SQLite database."""
    with tempfile.TemporaryDirectory() as tmp:
        runtime = _runtime(tmp)
        builder = RequestBuilder(runtime.config, runtime.clock)
        t0 = time.perf_counter()
        for _ in range(ROUNDS):
            for path, data in zip(EXAMPLES, files, strict=True):
                submit_xml(builder, runtime.sessions, data, path.name, username)
        submit_s = time.perf_counter() - t0
        runtime.engine.dispose()
    return submit_s, ROUNDS * len(files)


def main() -> None:
    files = [p.read_bytes() for p in EXAMPLES]
    with tempfile.TemporaryDirectory() as tmp:
        runtime = _runtime(tmp)
        builder = RequestBuilder(runtime.config, runtime.clock)

        t0 = time.perf_counter()
        for _ in range(ROUNDS):
            specs = [parse_request(data).spec for data in files]
        parse_ms = (time.perf_counter() - t0) * 1000 / (ROUNDS * len(files))

        t0 = time.perf_counter()
        for _ in range(ROUNDS):
            for spec in specs:
                builder.validate(spec)
        check_ms = (time.perf_counter() - t0) * 1000 / (ROUNDS * len(specs))

        t0 = time.perf_counter()
        for _ in range(ROUNDS):
            exported = [request_to_xml(spec) for spec in specs]
        export_ms = (time.perf_counter() - t0) * 1000 / (ROUNDS * len(specs))
        assert all(parse_request(x).spec == s for x, s in zip(exported, specs, strict=True))
        runtime.engine.dispose()

    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"{len(files)} example files x {ROUNDS} rounds; load average {load}")
    print(f"parse + XSD validation: {parse_ms:.2f} ms per request file")
    print(f"builder checks (no database): {check_ms:.3f} ms per request")
    print(f"export to XML: {export_ms:.2f} ms per request")
    for username, what in (
        (BENCH_USER, "an observer: parse, checks, role, quota, store"),
        ("admin", "admin: parse, checks, store; its role skips the quota checks"),
    ):
        submit_s, submitted = _submit_rate(username, files)
        print(
            f"submit on SQLite as {what}: {submitted / submit_s:.0f} requests/s "
            f"({submit_s * 1000 / submitted:.1f} ms each, {submitted} requests, fresh database)"
        )


if __name__ == "__main__":
    main()
