"""Benchmark of request submission: XML parse + XSD validation, builder checks, and stored
requests per second on SQLite (the embedded default). Prints figures; asserts nothing.

Run: .venv/bin/python bench/bench_requests.py
"""

from __future__ import annotations

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
from orchestrator.request_builder import RequestBuilder  # noqa: E402
from orchestrator.request_xml import parse_request, request_to_xml, submit_xml  # noqa: E402
from orchestrator.runtime import Runtime  # noqa: E402

EXAMPLES = sorted((REPO / "simulators" / "resources").glob("routine_request_*.xml"))
ROUNDS = 20


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        config = parse_config(default_config_text(), Path(tmp))
        runtime = Runtime(config, ManualClock(datetime(2026, 11, 25, 4, tzinfo=UTC)))
        init_site(runtime, "bench-password")
        builder = RequestBuilder(runtime.config, runtime.clock)
        files = [p.read_bytes() for p in EXAMPLES]

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

        t0 = time.perf_counter()
        for _ in range(ROUNDS):
            for path, data in zip(EXAMPLES, files, strict=True):
                submit_xml(builder, runtime.sessions, data, path.name, "admin")
        submitted = ROUNDS * len(files)
        submit_s = time.perf_counter() - t0
        runtime.engine.dispose()

    print(f"parse + XSD validation: {parse_ms:.2f} ms per request file")
    print(f"builder checks (no database): {check_ms:.3f} ms per request")
    print(f"export to XML: {export_ms:.2f} ms per request")
    print(
        f"submit (parse, check, quota, store) on SQLite: {submitted / submit_s:.0f} requests/s "
        f"({submit_s * 1000 / submitted:.1f} ms each, {submitted} requests)"
    )


if __name__ == "__main__":
    main()
