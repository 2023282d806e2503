"""Network benchmark: telescopes sharing one PostgreSQL database through a whole night.

    .venv/bin/python bench/bench_network.py [--sequences 200] [--telescopes 2] [--step-s 30]
        [--kill-at-h 4] [--claim-ttl-s 120]

A real PostgreSQL server (tests/pg.py), the real planner (`replan` per telescope, for its own
site config), claims and status moves (`Claims`, `observer.progress`), on one night clock
from nautical dusk to dawn at COLIBRI (night of 2026-11-24) that advances by steps once every
telescope has done its step (re-plans cost no night time). The devices are not simulated:
"executing" a sequence is holding it (claim renewed) for its duration on the clock, so the
figures are those of the shared pool (planning, claims, contention, take-over), not of optics.
With --kill-at-h, the last telescope stops dead mid-sequence at that hour of the night
(no release, no renewal), and another takes the sequence over once the claim expires (claim
times on the night clock here; wall-clock UTC in the orchestrator).
Prints: sequences executed per telescope, executed twice (must be 0), claims refused,
re-plans and their wall time, each telescope's busy fraction of the night, the take-over.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import select  # noqa: E402

from orchestrator import db  # noqa: E402
from orchestrator.clock import ManualClock  # noqa: E402
from orchestrator.config import default_config_text, parse_config, with_telescope  # noqa: E402
from orchestrator.errors import IllegalTransition  # noqa: E402
from orchestrator.majordome.core import due_rows  # noqa: E402
from orchestrator.model import (  # noqa: E402
    Album,
    Channel,
    Plan,
    Request,
    Role,
    Sequence,
    SequenceStatus,
    User,
    UserLevel,
)
from orchestrator.network.claim import Claims  # noqa: E402
from orchestrator.observer import progress  # noqa: E402
from orchestrator.planner.night import Site  # noqa: E402
from orchestrator.planner.service import replan, tonight  # noqa: E402
from orchestrator.runtime import Runtime  # noqa: E402
from tests.pg import PostgresServer  # noqa: E402

S = SequenceStatus


def add_pool(runtime: Runtime, n: int, dusk: datetime, dawn: datetime, seed: int) -> list[int]:
    """n sequences spread over the sky that is up tonight: 4-10 min, windows of the night."""
    rng = random.Random(seed)
    with runtime.sessions.begin() as session:
        level = UserLevel(name="pi", role=Role.PI, priority=1, quota_h=1000)
        user = User(username="bench", user_level=level, created=dusk)
        request = Request(name="pool", user=user, submitted=dusk, source="api")
        for i in range(n):
            album = Album(channel=Channel.VIS, plans=[Plan(filter_name="r", exposure_s=60)])
            request.sequences.append(
                Sequence(
                    name=f"s{i}",
                    target_name=f"s{i}",
                    ra_deg=rng.uniform(0, 360),
                    dec_deg=rng.uniform(-20, 70),
                    min_altitude_deg=30.0,
                    priority=rng.uniform(1, 10),
                    duration_s=rng.uniform(240, 600),
                    window_start=dusk,
                    window_end=dawn,
                    albums=[album],
                )
            )
        session.add(request)
        session.flush()
        return [s.id for s in request.sequences]


class Lockstep:
    """The night's clock, advanced by `step_s` once every live telescope finished its step:
    a re-plan that takes seconds of wall time costs no observing time (the planner's speed is
    bench_planner.py's subject, not this one's)."""

    def __init__(self, clock: ManualClock, step_s: float, parties: int) -> None:
        self.clock, self.step_s, self.parties = clock, step_s, parties
        self.waiting = 0
        self.generation = 0
        self.cond = threading.Condition()

    def _advance(self) -> None:
        self.waiting = 0
        self.generation += 1
        self.clock.advance(self.step_s)
        self.cond.notify_all()

    def wait(self) -> None:
        with self.cond:
            generation = self.generation
            self.waiting += 1
            if self.waiting >= self.parties:
                self._advance()
                return
            while generation == self.generation:
                self.cond.wait()

    def leave(self) -> None:
        with self.cond:
            self.parties -= 1
            if self.parties and self.waiting >= self.parties:
                self._advance()


class Telescope(threading.Thread):
    """One telescope: re-plan when needed, claim the due sequence, hold it for its duration
    (claim renewed at every step, on the night's clock: a live telescope's claim never
    expires while the others plan; a dead one's expires `claim_ttl_s` night seconds later)."""

    def __init__(
        self, runtime: Runtime, dawn: datetime, step: Lockstep, kill_at: datetime | None
    ) -> None:
        super().__init__(name=runtime.config.telescope.name, daemon=True)
        self.runtime, self.dawn, self.step, self.kill_at = runtime, dawn, step, kill_at
        t = runtime.config.telescope
        self.claims = Claims(runtime.sessions, t.name, t.claim_ttl_s, now=runtime.clock.now)
        self.executed: list[int] = []
        self.refused = 0
        self.replans_s: list[float] = []
        self.busy_s = 0.0
        self.killed_holding: int | None = None
        self.taken_over: list[int] = []

    def plan(self, trigger: str) -> None:
        started = time.monotonic()
        replan(self.runtime, trigger)
        self.replans_s.append(time.monotonic() - started)

    def due(self) -> tuple[list[int], set[int]]:
        """(due sequences free for this telescope, due ones another telescope claims): the
        majordome's own query."""
        with self.runtime.sessions() as session:
            rows = due_rows(session, self.name, self.runtime.clock.now(), self.claims.now())
        free = [sid for sid, status, ok in rows if ok and status == S.PLANNED]
        return free, {sid for sid, _, ok in rows if not ok}

    def run(self) -> None:
        clock = self.runtime.clock
        running: tuple[int, datetime, float] | None = None
        seen: set[int] = set()  # due sequences another telescope took, re-planned for
        self.plan("first plan")
        while clock.now() < self.dawn:
            now = clock.now()
            if running is not None and now >= running[1]:
                sid, _, duration_s = running
                progress.finish(self.runtime, sid, now)
                self.claims.release(sid)
                self.executed.append(sid)
                self.busy_s += duration_s
                running = None
            if running is not None and self.kill_at is not None and now >= self.kill_at:
                self.killed_holding = running[0]  # dead: no finish, no release, no renewal
                self.step.leave()
                return
            if running is None:
                taken = self.claims.take_over_expired(now)
                if taken:
                    self.taken_over += taken
                    self.plan("claims expired")
                due, taken = self.due()
                sid = self.claims.claim_first(due) if due else None
                if due and sid != due[0]:
                    self.refused += 1
                if sid is None and (due or taken - seen):
                    # as the majordome: its due sequence was taken, re-plan and try at once
                    seen |= taken
                    self.plan("taken by another telescope")
                    due, _ = self.due()
                    sid = self.claims.claim_first(due) if due else None
                if sid is not None:
                    try:
                        progress.start(self.runtime, sid, now)
                    except IllegalTransition:  # re-planned away meanwhile
                        self.claims.release(sid)
                    else:
                        with self.runtime.sessions() as session:
                            duration_s = session.get(Sequence, sid).duration_s
                        end = now + timedelta(seconds=duration_s)
                        running = (sid, end, duration_s)
            elif not self.claims.renew(running[0]):
                raise RuntimeError(f"{self.name} lost its claim on sequence {running[0]}")
            self.step.wait()
        if running is not None:  # it runs past dawn: let it end
            progress.finish(self.runtime, running[0], clock.now())
            self.claims.release(running[0])
            self.executed.append(running[0])
            self.busy_s += running[2]
        self.step.leave()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequences", type=int, default=200)
    parser.add_argument("--telescopes", type=int, default=2)
    parser.add_argument("--step-s", type=float, default=30.0, help="clock step (night seconds)")
    parser.add_argument("--kill-at-h", type=float, default=4.0, help="0: nobody is killed")
    parser.add_argument("--claim-ttl-s", type=float, default=120.0, help="night seconds")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="pyros-bench-network-"))
    server = PostgresServer().start()
    try:
        url = server.create_database("pyros_bench_network")
        base = parse_config(default_config_text(), folder)
        base = base.model_copy(update={"database": base.database.model_copy(update={"url": url})})
        ttl = base.telescope.model_copy(update={"claim_ttl_s": args.claim_ttl_s})
        base = base.model_copy(update={"telescope": ttl})
        grid = tonight(
            Site.from_config(base.site), base.site.timezone, datetime(2026, 11, 25, 4, tzinfo=UTC)
        )
        dusk = datetime.fromtimestamp(grid.twilights["nautical"][0], UTC)
        dawn = datetime.fromtimestamp(grid.twilights["nautical"][1], UTC)
        clock = ManualClock(dusk)
        runtimes = [
            Runtime(with_telescope(base, f"t{i + 1}"), clock) for i in range(args.telescopes)
        ]
        db.upgrade(runtimes[0].engine)
        ids = add_pool(runtimes[0], args.sequences, dusk, dawn, args.seed)
        kill_at = dusk + timedelta(hours=args.kill_at_h) if args.kill_at_h > 0 else None
        step = Lockstep(clock, args.step_s, len(runtimes))
        scopes = [
            Telescope(rt, dawn, step, kill_at if i == len(runtimes) - 1 else None)
            for i, rt in enumerate(runtimes)
        ]
        started = time.monotonic()
        for scope in scopes:
            scope.start()
        for scope in scopes:
            scope.join()
        wall_s = time.monotonic() - started
        with runtimes[0].sessions() as session:
            by_status = Counter(
                str(s) for s in session.scalars(select(Sequence.status).where(Sequence.id.in_(ids)))
            )
        counts = Counter(sid for scope in scopes for sid in scope.executed)
        night_s = (dawn - dusk).total_seconds()
        print(
            f"network night: {args.sequences} sequences, {args.telescopes} telescopes on one "
            f"PostgreSQL, COLIBRI {dusk:%Y-%m-%d %H:%M}-{dawn:%H:%M} UTC (nautical), "
            f"clock steps of {args.step_s:g} s, "
            f"claim TTL {args.claim_ttl_s:g} s; wall time {wall_s:.0f} s"
        )
        for scope in scopes:
            replans = scope.replans_s
            print(
                f"  {scope.name}: executed {len(scope.executed)}, claims refused {scope.refused}, "
                f"re-plans {len(replans)} (median {statistics.median(replans):.2f} s, "
                f"max {max(replans):.2f} s wall), busy {scope.busy_s / night_s:.0%} of the night"
                + (
                    f", killed holding sequence {scope.killed_holding}"
                    if scope.killed_holding
                    else ""
                )
            )
        twice = sum(1 for c in counts.values() if c > 1)
        print(
            f"  executed: {sum(counts.values())} executions of {len(counts)} sequences; "
            f"executed twice: {twice}"
        )
        print(f"  final statuses: {dict(sorted(by_status.items()))}")
        dead = next((s.killed_holding for s in scopes if s.killed_holding), None)
        if dead is not None:
            with runtimes[0].sessions() as session:
                status = session.get(Sequence, dead).status
            takers = [s.name for s in scopes if dead in s.taken_over]
            doers = [s.name for s in scopes if dead in s.executed]
            print(
                f"  the killed telescope's sequence {dead}: taken over by {takers}, "
                f"executed by {doers}, now {status}"
            )
        for rt in runtimes:
            rt.engine.dispose()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
