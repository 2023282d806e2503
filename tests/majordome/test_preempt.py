"""Pre-emption (the alerts' hook): `Majordome.preempt()` aborts the running sequence with cause
`pre-empted` (back to the pool, frames kept) and starts the urgent one at once, not at a tick;
by the sequence already running, it changes nothing.
Real peers; the majordome's service with its tick driven by a thread as the job would."""

from __future__ import annotations

import threading
from contextlib import contextmanager

import pytest
from sqlalchemy import select

from orchestrator.majordome.service import MajordomeService
from orchestrator.model import Schedule, Sequence
from orchestrator.planner.service import replan
from orchestrator.planner.triggers import ReplanTriggers
from tests.device_peers import reset_alpaca
from tests.helpers import wait_for
from tests.majordome.night_helpers import (
    alpaca_devices_toml,
    make_site,
    statuses,
    submit_sky_request,
)

pytestmark = pytest.mark.timeout(300)


def _site(tmp_path, alpaca_simulator):
    reset_alpaca(alpaca_simulator)
    return make_site(
        tmp_path,
        f"sqlite:///{tmp_path / 'pyros.db'}",
        alpaca_devices_toml(alpaca_simulator.address),
    )


@contextmanager
def _ticking(service: MajordomeService):
    """The majordome's tick driven by a thread, as its job would."""
    stop = threading.Event()

    def ticks() -> None:
        while not stop.is_set():
            service.tick()
            stop.wait(0.2)

    ticker = threading.Thread(target=ticks, daemon=True)
    ticker.start()
    try:
        yield
    finally:
        stop.set()
        ticker.join(10)


@contextmanager
def _routine_running(tmp_path, alpaca_simulator, count: int):
    """A site whose majordome ticks and executes a routine sequence of `count` 2 s frames:
    yields (runtime, service, the routine sequence's id)."""
    site = _site(tmp_path, alpaca_simulator)
    rt = site.runtime
    routine = submit_sky_request(rt, "routine", 80.0, 0.0, exposure_s=2.0, count=count)
    replan(rt, "test")
    service = MajordomeService(rt).start()
    try:
        with _ticking(service):
            wait_for(
                lambda: statuses(rt, [routine])[routine] == "executing",
                120,
                0.05,
                what="the routine sequence executing",
            )
            yield rt, service, routine
    finally:
        service.stop()
        site.close()


def test_preempt_aborts_the_running_sequence_and_starts_the_urgent_one(tmp_path, alpaca_simulator):
    with _routine_running(tmp_path, alpaca_simulator, 4) as (rt, service, routine):
        # long enough that a loaded machine still sees it executing
        urgent = submit_sky_request(rt, "GRB follow-up", 75.0, 200.0, exposure_s=2.0, count=2)
        with rt.sessions.begin() as session:  # what the alerts job does: plan it
            session.get(Sequence, urgent).plan(rt.clock.now())
        service.majordome.preempt(urgent, "GRB 261125A")
        wait_for(
            lambda: statuses(rt, [urgent])[urgent] == "executing",
            30,
            0.01,
            what="the urgent sequence executing",
        )
        with rt.sessions() as session:
            pre_empted = session.get(Sequence, routine)
            assert str(pre_empted.status) == "to_be_planned"
            assert pre_empted.status_reason == "preempted: GRB 261125A"
        assert service.majordome.store.snapshot().current_sequence_id == urgent
        # The urgent sequence already running (the tick may start it from the urgent schedule
        # before the hook is called): pre-empting by it again leaves it running.
        service.majordome.preempt(urgent, "GRB 261125A again").join(30)
        assert statuses(rt, [urgent])[urgent] in ("executing", "executed")
        wait_for(
            lambda: statuses(rt, [urgent])[urgent] == "executed",
            120,
            0.1,
            what="the urgent sequence executed",
        )


def test_a_restart_plans_the_recovered_urgent_sequence_first_before_any_tick(
    tmp_path, alpaca_simulator
):
    """Killed while the alert's sequence ran: at the next start the newest schedule predates
    the kill and names routine entries only; the recovered sequence must be planned first
    before the majordome's first tick would start the next routine entry."""
    site = _site(tmp_path, alpaca_simulator)
    rt = site.runtime
    routine = [submit_sky_request(rt, f"routine {i}", 80.0 - 5 * i, 90.0 * i) for i in range(3)]
    replan(rt, "test")
    urgent = submit_sky_request(rt, "GRB follow-up", 75.0, 200.0, count=1)
    with rt.sessions.begin() as session:  # the killed process left it executing
        row = session.get(Sequence, urgent)
        row.is_urgent = True
        row.plan(rt.clock.now())
        row.start(rt.clock.now())
    service = MajordomeService(rt).start()
    try:
        with rt.sessions() as session:
            schedule = session.scalars(select(Schedule).order_by(Schedule.id.desc())).first()
            first = min(schedule.entries, key=lambda e: e.start).sequence_id
        assert schedule.trigger == "sequence back in the pool"
        assert first == urgent
        assert set(statuses(rt, routine).values()) == {"planned"}
    finally:
        service.stop()
        site.close()


def test_a_re_plan_placing_an_urgent_sequence_over_the_running_one_pre_empts_it(
    tmp_path, alpaca_simulator
):
    """An urgent sequence that reaches the schedule through the planner job (an alert
    deferred while its target was low, say) is handed to the majordome's pre-emption as the
    alerts do: it does not wait for the routine sequence to end."""
    with _routine_running(tmp_path, alpaca_simulator, 6) as (rt, service, routine):
        urgent = submit_sky_request(rt, "GRB follow-up", 75.0, 200.0, count=1)
        with rt.sessions.begin() as session:
            session.get(Sequence, urgent).is_urgent = True
        ReplanTriggers(rt, service.preempt).run()  # the planner job: "new request"
        wait_for(
            lambda: statuses(rt, [urgent])[urgent] in ("executing", "executed"),
            30,
            0.05,
            what="the urgent sequence started",
        )
        with rt.sessions() as session:
            pre_empted = session.get(Sequence, routine)
            assert str(pre_empted.status) == "to_be_planned"
            assert pre_empted.status_reason == (
                f"preempted: re-plan (new request): urgent sequence {urgent} due"
            )


def test_the_urgent_sequence_started_by_a_tick_before_the_hook_is_not_aborted(
    tmp_path, alpaca_simulator, monkeypatch, caplog
):
    """The alert stores the urgent schedule, then calls the hook: a tick in between may start
    the urgent sequence, whose worker stores its start a moment later. The hook must not take
    it for the running sequence to abort (it did, under load: the alert's own sequence was
    pre-empted by its alert and went back to the pool)."""
    from orchestrator.observer import progress

    site = _site(tmp_path, alpaca_simulator)
    rt = site.runtime
    urgent = submit_sky_request(rt, "GRB follow-up", 75.0, 200.0, exposure_s=1.0, count=1)
    with rt.sessions.begin() as session:
        session.get(Sequence, urgent).is_urgent = True
    replan(rt, "test")
    stored, real_start = threading.Event(), progress.start

    def slow_start(*args, **kwargs):  # widens the window between the worker's start and its write
        stored.wait(30)
        return real_start(*args, **kwargs)

    monkeypatch.setattr(progress, "start", slow_start)
    service = MajordomeService(rt).start()
    try:
        with _ticking(service):
            wait_for(
                lambda: service.majordome.store.snapshot().current_sequence_id == urgent,
                120,
                0.01,
                what="the tick starting the urgent sequence",
            )
            assert statuses(rt, [urgent])[urgent] == "planned"  # its start not stored yet
            with caplog.at_level("INFO", logger="orchestrator"):
                service.majordome.preempt(urgent, "alert 1: observe").join(30)
                stored.set()
                wait_for(
                    lambda: statuses(rt, [urgent])[urgent] == "executed",
                    120,
                    0.05,
                    what="the urgent sequence executed",
                )
        assert "failed (pre-empted)" not in caplog.text
        assert f"urgent sequence {urgent} already running" in caplog.text
    finally:
        service.stop()
        site.close()
