"""Fuzz soak: the targets of tests/fuzz run for N minutes; prints inputs checked and failures.

    .venv/bin/python bench/fuzz_soak.py --minutes 10 [--target alpaca|plc|request_xml|...]

Runs each target in turn, in batches of fresh random examples (Hypothesis, no example
database), until the time is up; a failure prints the falsifying input and the soak exits 1.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hypothesis import HealthCheck, given, settings  # noqa: E402

from tests.fuzz import targets  # noqa: E402

BATCH = 200


def _runners(server):
    quiet = settings(max_examples=BATCH, deadline=None, database=None,
                     suppress_health_check=list(HealthCheck))  # fmt: skip
    return {
        "alpaca": quiet(given(targets.alpaca_requests())(
            lambda req: targets.check_alpaca(server, *req))),
        "plc": quiet(given(targets.plc_answers())(targets.check_plc)),
        "request_xml": quiet(given(targets.xml_documents())(targets.check_xml)),
        "request_mapping": quiet(given(targets.request_mappings())(targets.check_mapping)),
    }  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--target", action="append", help="only these targets (repeatable)")
    args = parser.parse_args()
    import logging

    logging.disable(logging.CRITICAL)  # the gateway logs every refused PLC answer
    failures = 0
    spent_s: dict[str, float] = {}
    with targets.live_alpaca() as server:
        runners = _runners(server)
        chosen = args.target or list(runners)
        unknown = set(chosen) - set(runners)
        if unknown:
            print(f"fuzz_soak: --target: unknown {sorted(unknown)} (known: {list(runners)})")
            return 2
        start = time.monotonic()
        deadline = start + args.minutes * 60
        while time.monotonic() < deadline:
            for name in chosen:
                began = time.monotonic()
                try:
                    runners[name]()
                except Exception as exc:  # noqa: BLE001 - report and go on with the others
                    failures += 1
                    print(f"FAILURE in {name}: {type(exc).__name__}: {exc}"[:2000], flush=True)
                spent_s[name] = spent_s.get(name, 0.0) + time.monotonic() - began
        elapsed_s = time.monotonic() - start
    print(f"fuzz soak: {elapsed_s / 60:.1f} min on {platform.python_implementation()} "
          f"{platform.python_version()}, {platform.machine()}")  # fmt: skip
    for name in chosen:
        count = targets.COUNTS[name.replace("-", "_")]
        rate = count / max(spent_s.get(name, 0.0), 1e-9)
        print(f"  {name:16s} {count:9d} inputs  {rate:8.1f}/s while running")
    print(f"  failures: {failures}")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
