"""Network benchmark on real devices: two telescopes, one PostgreSQL, a whole night, 200 sequences.

    .venv/bin/python bench/bench_network_night.py [--sequences 200] [--speed 100]
        [--night 2026-11-24] [--kill-at-h 4] [--claim-ttl-s 20] [--seed 1] [--keep]

What `pyros simulate` runs, twice over one database: a real PostgreSQL server (tests/pg.py), one
PLC simulator (here, on the shared clock) and one gateway for the site, and per telescope
(east, west) an alpaca-simulators following the clock (`pyros devices simulate`) and a
`pyros orchestrator --telescope NAME` process. Every process reads its telescope's
configuration made by simulators/night_run.py (`overrides`, `run_config`) and they share one
accelerated clock (`clock.real_start_file`, written once everything is ready). The pool: random
targets, each up at some time of the night (30° minimum altitude), 3 × 30 s in r, 240 s long,
windows of the whole night. With --kill-at-h, west is killed -9 mid-sequence (a first light
frame taken) at that hour after dusk and not restarted; its claim expires (`--claim-ttl-s`,
wall seconds, as the orchestrator's claims) and east may take the sequence over.
After dawn it reads the database and prints what each telescope executed, what was executed
twice (exit 1 if anything was), the take-over, what is left in the pool and why, wall time,
CPU per process and load average.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psutil  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from orchestrator.bootstrap import init_site  # noqa: E402
from orchestrator.config import default_config_text, parse_config  # noqa: E402
from orchestrator.devices.coords import from_altaz  # noqa: E402
from orchestrator.majordome.states import StateStore  # noqa: E402
from orchestrator.model import (  # noqa: E402
    Album,
    Image,
    Plan,
    ProcessLease,
    Schedule,
    Sequence,
    WeatherWatch,
)
from orchestrator.requests.builder import RequestBuilder  # noqa: E402
from orchestrator.requests.xml_io import submit_xml  # noqa: E402
from orchestrator.runtime import Runtime  # noqa: E402
from simulators.conductor import wait_http  # noqa: E402
from simulators.night_run import (  # noqa: E402
    RunPorts,
    free_port,
    overrides,
    place_night,
    run_config,
)
from simulators.plc_simulator import PlcSimulator  # noqa: E402
from tests.pg import PostgresServer  # noqa: E402

TELESCOPES = ("east", "west")
VICTIM = "west"
FRAMES = 3  # light frames of one complete run (the request below)
REQUEST = """<?xml version="1.0" encoding="UTF-8"?>
<request version="1" name="{name}" program="ROUTINE">
  <sequence name="{name}" duration_s="240" priority="{priority:.1f}">
    <target name="{name}" ra_deg="{ra:.5f}" dec_deg="{dec:.5f}"/>
    <window start="{start:%Y-%m-%dT%H:%M:%SZ}" end="{end:%Y-%m-%dT%H:%M:%SZ}"/>
    <constraints min_altitude_deg="30"/>
    <album channel="VIS"><plan filter="r" exposure_s="30" count="{frames}"/></album>
  </sequence>
</request>
"""


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen | None
    cpu_s: float = 0.0  # user + system, read at its end

    def sample(self) -> None:
        if self.popen is None:
            return
        try:
            times = psutil.Process(self.popen.pid).cpu_times()
            kids = [c.cpu_times() for c in psutil.Process(self.popen.pid).children(True)]
            self.cpu_s = times.user + times.system + sum(k.user + k.system for k in kids)
        except psutil.Error:
            pass


def pyros(config: Path, folder: Path, name: str, *args: str) -> Proc:
    log = (folder / f"{name}.out").open("a")
    argv = [sys.executable, "-m", "orchestrator.cli", "--config", str(config), *args]
    popen = subprocess.Popen(argv, cwd=folder, stdout=log, stderr=subprocess.STDOUT)
    return Proc(name, popen)


def add_pool(runtime: Runtime, n: int, dusk: datetime, dawn: datetime, seed: int) -> list[int]:
    """n one-sequence requests on random targets, each at 45-85° altitude at a random time of
    the night (so up for a while that night); windows of the whole night."""
    rng = random.Random(seed)
    builder = RequestBuilder(runtime.config, runtime.clock)
    span_s = (dawn - dusk).total_seconds() - 2 * 3600
    ids = []
    for i in range(n):
        when = dusk + timedelta(seconds=3600 + rng.uniform(0, span_s))
        coord = from_altaz(rng.uniform(45, 85), rng.uniform(0, 360), runtime.config.site, when)
        xml = REQUEST.format(
            name=f"n{i:03d}", priority=rng.uniform(1, 10), ra=coord.ra.deg,
            dec=coord.dec.deg, start=dusk, end=dawn, frames=FRAMES,
        )  # fmt: skip
        done = submit_xml(builder, runtime.sessions, xml.encode(), f"n{i:03d}.xml", "admin")
        ids += done.sequence_ids
    return ids


def wait(condition, timeout_s: float, what: str, period_s: float = 0.5) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except Exception:  # noqa: BLE001 - tables not there yet, a process starting
            pass
        time.sleep(period_s)
    raise SystemExit(f"bench: timed out waiting for {what}")


def pool_state(runtime: Runtime, ids: list[int]) -> Counter:
    """(status, reason) of the sequences not executed, counted (numbers blanked to group)."""
    with runtime.sessions() as session:
        rows = session.execute(
            select(Sequence.status, Sequence.status_reason).where(
                Sequence.id.in_(ids), Sequence.status != "executed"
            )
        ).all()
    return Counter((str(s), re.sub(r"\d+(\.\d+)?", "N", r or "")[:90]) for s, r in rows)


def light_frames(runtime: Runtime, folders: dict[str, Path]) -> dict[int, Counter]:
    """Each sequence's light frames, counted by the telescope whose folder holds them."""
    found: dict[int, Counter] = defaultdict(Counter)
    with runtime.sessions() as session:
        rows = session.execute(
            select(Image.sequence_id, Image.path).where(
                Image.image_type == "light", Image.sequence_id.is_not(None)
            )
        )
        for sid, path in rows:
            owner = next((t for t, f in folders.items() if Path(path).is_relative_to(f)), "?")
            found[sid][owner] += 1
    return found


def executing_on(runtime: Runtime, telescope: str) -> int | None:
    with runtime.sessions() as session:
        return session.scalar(
            select(Sequence.id).where(
                Sequence.status == "executing", Sequence.claimed_by == telescope
            )
        )


def postgres_cpu_s(server: PostgresServer) -> float:
    try:
        pid = int((server.dir / "data" / "postmaster.pid").read_text().split()[0])
        main = psutil.Process(pid)
        procs = [main, *main.children(True)]
        return sum(p.cpu_times().user + p.cpu_times().system for p in procs)
    except (OSError, ValueError, psutil.Error):
        return float("nan")


def main() -> int:  # noqa: C901, PLR0915 - one run, told in order
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequences", type=int, default=200)
    parser.add_argument("--speed", type=float, default=100.0, help="clock seconds per wall s")
    parser.add_argument("--night", type=date.fromisoformat, default=date(2026, 11, 24))
    parser.add_argument("--kill-at-h", type=float, default=4.0, help="hours after dusk; 0: none")
    parser.add_argument("--claim-ttl-s", type=float, default=20.0, help="wall seconds")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the run's folder (~0.6 GB)")
    args = parser.parse_args()

    setup_started = time.monotonic()
    root = Path(tempfile.mkdtemp(prefix="pyros-bench-network-night-"))
    base = parse_config(default_config_text(), root)
    placement = place_night(base, args.night)
    gun = root / "clock-started"
    server = PostgresServer().start()
    procs: list[Proc] = []
    plc = rt = None
    try:
        url = server.create_database("pyros_bench_network_night")
        plc_port, gateway_port = free_port(), free_port()
        configs, folders = {}, {}
        for name in TELESCOPES:
            alpaca = free_port()
            ports = RunPorts(plc_port, gateway_port, alpaca, alpaca)  # no fault proxy
            folder = root / name
            changes = overrides(base, placement, args.speed, gun, folder, ports)
            changes["database"] = {"url": url}
            changes["telescope"] = {"name": name, "claim_ttl_s": args.claim_ttl_s}
            configs[name] = run_config(base, changes, folder)
            folders[name] = configs[name][0].folders.images.resolve()
        rt = Runtime(configs["east"][0])  # its clock waits at the start for the gun
        init_site(rt, None)
        StateStore(rt).set(paused=False)  # the one majordome row exists before both start
        plc = PlcSimulator("127.0.0.1", plc_port, clock=rt.clock).start()
        east_cfg = configs["east"][1]
        procs.append(pyros(east_cfg, root, "gateway", "gateway"))
        for name in TELESCOPES:
            cfg, path = configs[name]
            procs.append(pyros(path, cfg.folders.data, f"alpaca-{name}", "devices", "simulate"))
        for name in TELESCOPES:
            addr = configs[name][0].simulators.alpaca_address
            if not wait_http(f"http://{addr}/management/apiversions", _never(), 120):
                raise SystemExit(f"bench: alpaca-simulators of {name} did not start")
        for name in TELESCOPES:
            cfg, path = configs[name]
            procs.append(pyros(path, cfg.folders.data, name, "orchestrator", "--telescope", name))

        def ready() -> bool:
            with rt.sessions() as session:
                leases = set(session.scalars(select(ProcessLease.name)))
                weather = session.scalar(select(func.count()).select_from(WeatherWatch))
            return {f"orchestrator:{t}" for t in TELESCOPES} <= leases and bool(weather)

        wait(ready, 300, "both orchestrators and the gateway")
        dusk, dawn = placement.times.dusk, placement.times.dawn
        ids = add_pool(rt, args.sequences, dusk, dawn, args.seed)

        def planned_by_both() -> bool:
            with rt.sessions() as session:
                return set(session.scalars(select(Schedule.telescope))) >= set(TELESCOPES)

        wait(planned_by_both, 300, "a first schedule of each telescope")
        load_start = os.getloadavg()
        gun.write_text(datetime.now(UTC).isoformat())
        started = time.monotonic()
        print(
            f"bench: night {placement.night}, clock {placement.start:%H:%M}-"
            f"{placement.soft_end:%H:%M} UTC (dusk {dusk:%H:%M}, dawn {dawn:%H:%M}) at "
            f"×{args.speed:g}; {len(ids)} sequences; start-up "
            f"{started - setup_started:.0f} s; folder {root}",
            flush=True,
        )
        kill_at = dusk + timedelta(hours=args.kill_at_h) if args.kill_at_h > 0 else None
        killed: tuple[int, int, datetime] | None = None  # sequence, its frames, clock time
        victim = next(p for p in procs if p.name == VICTIM)
        loads, next_line = [], time.monotonic()
        # the pool's statuses and reasons shortly before dawn (at dawn, the end-of-night re-plan
        # has already called everything left "never up")
        at_dawn: Counter | None = None
        while rt.clock.now() < placement.soft_end:
            time.sleep(0.2)
            now = rt.clock.now()
            if at_dawn is None and now >= dawn - timedelta(minutes=30):
                at_dawn = pool_state(rt, ids)
            if kill_at is not None and killed is None and now >= kill_at:
                sid = executing_on(rt, VICTIM)
                frames = light_frames(rt, folders).get(sid, Counter())[VICTIM] if sid else 0
                if sid is not None and 1 <= frames < FRAMES:
                    victim.sample()
                    victim.popen.send_signal(signal.SIGKILL)
                    victim.popen.wait(10)
                    killed = (sid, frames, now)
                    print(f"bench: {now:%H:%M} UTC: {VICTIM} killed -9 in sequence {sid} "
                          f"after {frames} light frame(s)", flush=True)  # fmt: skip
            if time.monotonic() >= next_line:
                next_line += 30
                loads.append(os.getloadavg()[0])
                with rt.sessions() as session:
                    done = session.scalar(select(func.count()).where(Sequence.status == "executed"))
                print(f"bench: {now:%H:%M} UTC, {done} executed, load {loads[-1]:.1f}, "
                      f"wall {time.monotonic() - started:.0f} s", flush=True)  # fmt: skip
        wait(lambda: executing_on(rt, "east") is None, 120, "east's last sequence to end")
        wall_s = time.monotonic() - started
        load_end = os.getloadavg()
        for proc in procs:
            if proc.popen.poll() is None:
                proc.sample()
        pg_cpu_s = postgres_cpu_s(server)
        bench_cpu = psutil.Process().cpu_times()
        procs.append(Proc("bench (PLC simulator)", None, bench_cpu.user + bench_cpu.system))
        return report(rt, ids, folders, killed, procs, wall_s, load_start, loads, load_end,
                      pg_cpu_s, root, at_dawn, args)  # fmt: skip
    finally:
        procs = [p for p in procs if p.popen is not None]
        for proc in procs:
            if proc.popen.poll() is None:
                proc.popen.terminate()
        for proc in procs:
            try:
                proc.popen.wait(20)
            except subprocess.TimeoutExpired:
                proc.popen.kill()
        if plc is not None:
            plc.stop()
        if rt is not None:
            rt.engine.dispose()
        server.stop()
        if not args.keep:  # frames and logs: ~0.6 GB a night
            shutil.rmtree(root, ignore_errors=True)


def _never():
    import threading

    return threading.Event()


def taken_over(root: Path) -> Counter:
    """Expired claims each telescope's `claims` job took over, from its logs."""
    found: Counter = Counter()
    for name in TELESCOPES:
        counts = [  # the file log and the console may both have the line: the larger count
            path.read_text(errors="replace").count("expired: back to the pool")
            for path in [*(root / name / "logs").glob("*.log*"), root / name / f"{name}.out"]
            if path.is_file()
        ]
        found[name] = max(counts or [0])
    return found


def report(rt, ids, folders, killed, procs, wall_s, load_start, loads, load_end, pg_cpu_s,
           root, at_dawn, args) -> int:  # fmt: skip
    frames = light_frames(rt, folders)
    with rt.sessions() as session:
        rows = session.execute(
            select(Sequence.id, Sequence.status, Sequence.status_reason, Sequence.claimed_by)
            .where(Sequence.id.in_(ids))
        ).all()  # fmt: skip
        planned_frames = dict(
            session.execute(
                select(Album.sequence_id, func.sum(Plan.count))
                .join(Plan, Plan.album_id == Album.id)
                .where(Album.sequence_id.in_(ids))
                .group_by(Album.sequence_id)
            ).all()
        )
    status = {sid: str(s) for sid, s, _, _ in rows}
    reasons = {sid: r or "" for sid, _, r, _ in rows}
    by_telescope: Counter = Counter()
    twice: dict[int, dict] = {}  # sequence -> its light frames by telescope
    for sid in ids:
        runs = {t: n // planned_frames.get(sid, FRAMES) for t, n in frames.get(sid, {}).items()}
        complete = sum(runs.values())
        if complete >= 2:  # two complete sets of frames, on one telescope or two
            twice[sid] = dict(frames[sid])
        for t, n in runs.items():
            if n:
                by_telescope[t] += 1
        shared = [t for t, n in frames.get(sid, {}).items() if n]
        if len(shared) > 1 and not (killed and sid == killed[0] and VICTIM in shared):
            twice[sid] = dict(frames[sid])  # two telescopes, and not the killed one's run
    print(
        f"network night on real devices: {len(ids)} sequences, telescopes {TELESCOPES} on one "
        f"PostgreSQL (one PLC simulator and gateway, two alpaca-simulators at ×{args.speed:g}), "
        f"claim TTL {args.claim_ttl_s:g} wall s; wall time {wall_s:.0f} s"
    )
    for t in TELESCOPES:
        print(f"  {t}: executed {by_telescope[t]} sequences (complete sets of light frames)")
    print(f"  executed twice: {len(twice)}" + (f" {twice}" if twice else ""))
    if killed is not None:
        sid, n, when = killed
        others = {t: c for t, c in frames.get(sid, {}).items() if t != VICTIM}
        print(
            f"  {VICTIM} killed at {when:%H:%M} UTC in sequence {sid} ({n} frame(s)): now "
            f"{status[sid]} ({reasons[sid][:80] or 'no reason'}), frames by telescope "
            f"{dict(frames.get(sid, {}))}; taken over by "
            f"{', '.join(others) or 'nobody'}"
        )
    else:
        print("  nobody killed (no sequence of the victim caught mid-run)" if args.kill_at_h
              else "  nobody killed")  # fmt: skip
    print(f"  statuses after the night: {dict(sorted(Counter(status.values()).items()))}")
    for (s, reason), n in pool_state(rt, ids).most_common(6):
        print(f"    {n} {s}: {reason or '(no reason)'}")
    if at_dawn is not None:
        print("  not executed 30 min before dawn, and why (the planner's reason):")
        for (s, reason), n in at_dawn.most_common(8):
            print(f"    {n} {s}: {reason or '(no reason)'}")
    print(f"  expired claims taken over (from the logs): {dict(taken_over(root))}")
    claimed = [sid for sid, _, _, c in rows if c]
    print(f"  claims still held after dawn: {len(claimed)} {claimed if claimed else ''}")
    cpu = ", ".join(f"{p.name} {p.cpu_s:.0f} s ({p.cpu_s / wall_s:.0%})" for p in procs)
    print(f"  CPU (whole run incl. start): {cpu}, postgres {pg_cpu_s:.0f} s")
    print(
        f"  load average: {load_start[0]:.1f} at the start, max {max(loads or [0]):.1f}, "
        f"{load_end[0]:.1f} at the end (1 min)"
    )
    return 1 if twice else 0


if __name__ == "__main__":
    raise SystemExit(main())
