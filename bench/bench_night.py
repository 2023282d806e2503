"""Whole simulated night: `pyros simulate` from dusk flats to after dawn, 500 sequences in the pool.

Usage: .venv/bin/python bench/bench_night.py [--speed 100] [--sequences 500] [--night YYYY-MM-DD]
       [--no-pipeline]

Runs the real command (device simulator, PLC simulator, gateway, orchestrator, web, pipeline) on
the shipped default site with the seed's conf.json plus SEQUENCES random sequences (VIS+NIR, short
exposures, targets spread over tonight's sky) submitted at time 0. Prints: wall time of the whole
night, sequences executed, light frames, efficiency (VIS open-shutter science time / dark time
while safe), CPU seconds and share of one core per process, and the orchestrator's CPU share
scaled to ×1: its fixed per-wall-second cost F (the smallest share over 10 s windows of the
night, an upper bound) plus the rest of its work spread over N times the wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from orchestrator.config import parse_config  # noqa: E402
from simulators.night_run import place_night  # noqa: E402
from tests.helpers import free_port  # noqa: E402

ROLES = {"orchestrator": "orchestrator", "web": "web", "gateway": "gateway",
         "devices": "alpaca-simulator", "alpaca_scaled": "alpaca-simulator",
         "pipeline": "pipeline"}  # fmt: skip


def request_xml(index: int, sequences: list[tuple[float, float, int]]) -> str:
    body = []
    for k, (ra, dec, duration_s) in enumerate(sequences):
        priority = 1 + k % 10
        name = f"B{index}-{k}"
        body.append(f"""  <sequence name="{name}" duration_s="{duration_s}" priority="{priority}">
    <target name="B{index}-{k}" ra_deg="{ra:.4f}" dec_deg="{dec:.4f}"/>
    <window start="2020-01-01T00:00:00Z" end="2040-01-01T00:00:00Z"/>
    <constraints min_altitude_deg="30"/>
    <album channel="VIS"><plan filter="r" exposure_s="60" count="3"/></album>
    <album channel="NIR"><plan filter="J" exposure_s="30" count="4"/></album>
  </sequence>""")
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<request version="1" name="bench {index}" '
            f'program="ROUTINE">\n' + "\n".join(body) + "\n</request>\n")  # fmt: skip


def write_scenario(folder: Path, n: int, lst_range_deg: tuple[float, float], seed: int = 1) -> Path:
    """conf.json's entries, and the pool of `n` sequences at time 0 (files of 100)."""
    rng = random.Random(seed)
    seed_conf = json.loads((REPO / "tests/data/scenarios/conf.json").read_text())
    entries = list(seed_conf[1:])
    lo, hi = lst_range_deg
    pool = [((rng.uniform(lo, hi)) % 360, rng.uniform(-15, 60), rng.choice((300, 600, 900, 1200)))
            for _ in range(n)]  # fmt: skip
    for index in range(0, n, 100):
        name = f"pool_{index // 100}.xml"
        (folder / name).write_text(request_xml(index // 100, pool[index : index + 100]))
        entries.insert(0, {"time": 0, "userSimulator": name})
    for name in {e["userSimulator"] for e in entries if "userSimulator" in e}:
        src = REPO / "simulators/resources" / name
        if src.exists():
            (folder / name).write_bytes(src.read_bytes())
    path = folder / "scenario.json"
    path.write_text(json.dumps([seed_conf[0], *entries], indent=1))
    return path


class CpuSampler:
    """CPU seconds per process of the run (children of `pyros simulate`), sampled every 2 s."""

    def __init__(self, root: psutil.Process):
        self.root = root
        self.last: dict[int, tuple[str, float]] = {}  # pid -> (role, cpu seconds)
        self.series: list[tuple[float, dict[str, float]]] = []
        self.stop = threading.Event()

    def role(self, proc: psutil.Process) -> str:
        cmd = " ".join(proc.cmdline())
        for key, role in ROLES.items():
            if re.search(rf"\b{key}\b", cmd.split("pyros.toml")[-1] if "pyros.toml" in cmd
                         else cmd):  # fmt: skip
                return role
        return "simulate" if proc.pid == self.root.pid else "other"

    def sample(self) -> None:
        try:
            procs = [self.root, *self.root.children(recursive=True)]
        except psutil.Error:
            return
        for proc in procs:
            try:
                times = proc.cpu_times()
                self.last[proc.pid] = (self.last.get(proc.pid, (None,))[0] or self.role(proc),
                                       times.user + times.system)  # fmt: skip
            except psutil.Error:
                continue
        self.series.append((time.monotonic(), self.totals()))

    def totals(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for role, cpu in self.last.values():
            out[role] = out.get(role, 0.0) + cpu
        return out

    def run(self) -> None:
        while not self.stop.wait(2.0):
            self.sample()


def smallest_share(series, role: str, window_s: float = 10.0) -> float | None:
    """The smallest CPU share of `role` over `window_s` windows once it runs (its imports
    over): an upper bound on its fixed per-wall-second cost."""
    best = None
    started = [i for i, (_, c) in enumerate(series) if c.get(role, 0) > 0]
    for i, (t0, c0) in enumerate(series):
        if not started or i < started[0] + 5:  # skip its first 10 s (imports, start-up)
            continue
        for t1, c1 in series[i + 1 :]:
            if t1 - t0 >= window_s:
                share = (c1.get(role, 0) - c0.get(role, 0)) / (t1 - t0)
                best = share if best is None else min(best, share)
                break
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--speed", type=float, default=100.0)
    parser.add_argument("--sequences", type=int, default=500)
    parser.add_argument("--night", default=None)
    parser.add_argument("--no-pipeline", action="store_true")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench_night_"))
    config_text = f'[folders]\ndata = "var"\n[web]\nport = {free_port()}\n'
    if args.no_pipeline:
        config_text += "[pipeline]\nenabled = false\n"
    (folder / "pyros.toml").write_text(config_text)
    config = parse_config(config_text, folder)
    placement = place_night(config, datetime.fromisoformat(args.night).date() if args.night
                            else None)  # fmt: skip
    # sidereal angle of the site at dusk and dawn (the targets culminate during the night)
    from astropy.time import Time

    lon = config.site.longitude_deg
    lst = [Time(t).sidereal_time("apparent", lon).deg for t in (placement.times.dusk,
                                                                 placement.times.dawn)]  # fmt: skip
    span = (lst[1] - lst[0]) % 360
    scenario = write_scenario(folder, args.sequences, (lst[0], lst[0] + span))
    argv = [
        sys.executable,
        "-m",
        "orchestrator.cli",
        "--config",
        str(folder / "pyros.toml"),
        "simulate",
        str(scenario),
        "--speed",
        f"{args.speed:g}",
        "--progress-every",
        "30",
    ]
    if args.night:
        argv += ["--night", args.night]
    print(f"bench_night: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, night {placement.night}, "
          f"×{args.speed:g}, {args.sequences} sequences + conf.json, pipeline "
          f"{'off' if args.no_pipeline else 'on'}, load average {os.getloadavg()[0]:.1f}, "
          f"{os.cpu_count()} cores; folder {folder}", flush=True)  # fmt: skip
    t0 = time.monotonic()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}  # progress lines as they come
    proc = subprocess.Popen(argv, cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=env)  # fmt: skip
    sampler = CpuSampler(psutil.Process(proc.pid))
    thread = threading.Thread(target=sampler.run, daemon=True)
    thread.start()
    night_start = None
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if line.startswith(("simulate ", "pyros simulate")) or "scenario[" in line:
            print("  " + line.rstrip(), flush=True)
        if night_start is None and "the night starts" in line:
            night_start = time.monotonic()
        sampler.sample()  # the last samples before the children stop
    code = proc.wait()
    sampler.stop.set()
    wall_s = time.monotonic() - t0
    summary = next((x for x in reversed(lines) if "night over" in x or "stopped early" in x), "")
    unsafe = re.search(r"unsafe (\d+):(\d\d):(\d\d)", summary)
    unsafe_s = int(unsafe[1]) * 3600 + int(unsafe[2]) * 60 + int(unsafe[3]) if unsafe else 0
    (run,) = (folder / "var" / "simulate").iterdir()
    with sqlite3.connect(run / "pyros.db") as db:
        executed = db.execute("SELECT count(*) FROM sequence WHERE status='EXECUTED'").fetchone()
        frames = dict(db.execute("SELECT image_type, count(*) FROM image GROUP BY image_type"))
        vis_s = db.execute("SELECT coalesce(sum(exposure_s), 0) FROM image WHERE "
                           "image_type='light' AND channel='VIS'").fetchone()[0]  # fmt: skip
    dark_s = (placement.times.dawn - placement.times.dusk).total_seconds()
    safe_dark_s = max(1.0, dark_s - unsafe_s)
    night_wall_s = time.monotonic() - (night_start or t0)
    print(f"\nexit code {code}; {summary.strip()}")
    print(f"wall time: {wall_s:.0f} s in all, {night_wall_s:.0f} s from the start of the night")
    print(f"sequences executed: {executed[0]}; frames: {frames}")
    print(f"efficiency: VIS open-shutter {vis_s / 3600:.2f} h / dark time while safe "
          f"{safe_dark_s / 3600:.2f} h = {vis_s / safe_dark_s:.2f}")  # fmt: skip
    totals = sampler.totals()
    print("CPU per process (seconds, share of one core over the whole run):")
    for role, cpu in sorted(totals.items(), key=lambda kv: -kv[1]):
        print(f"  {role:<17} {cpu:7.1f} s  {cpu / wall_s:6.1%}")
    orch = totals.get("orchestrator", 0.0)
    fixed = smallest_share(sampler.series, "orchestrator") or 0.0
    scaled = fixed + max(0.0, orch - fixed * wall_s) / (wall_s * args.speed)
    print(f"orchestrator at ×{args.speed:g}: {orch / wall_s:.1%} of one core; fixed per-wall-"
          f"second share F ≤ {fixed:.1%}; scaled to ×1: F + rest / {args.speed:g} = "
          f"{scaled:.1%} of one core (target < 20 %)")  # fmt: skip


if __name__ == "__main__":
    main()
