"""Pre-emption sends the slew first: the mount is on its way to the urgent target before the
pre-empted sequence's end (back to the pool, quota refunded) is stored, and the observer does
not slew again; an urgent target below its limit, or an unsafe site, gets no slew at all.
Real peers (PLC simulator, our gateway, alpaca-simulators); the order is the majordome's
recorded events, never a duration."""

from __future__ import annotations

import threading

import astropy.units as u
import pytest
from astropy.coordinates import SkyCoord
from sqlalchemy import select

from orchestrator.majordome.service import MajordomeService
from orchestrator.model import Sequence, SequenceStatus
from orchestrator.planner.service import replan
from tests.device_peers import reset_alpaca
from tests.helpers import wait_for
from tests.majordome.night_helpers import (
    alpaca_devices_toml,
    make_site,
    statuses,
    submit_sky_request,
)

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def night(tmp_path_factory, alpaca_simulator):
    """One site for the module: the majordome's service, its tick driven by a thread."""
    reset_alpaca(alpaca_simulator)
    folder = tmp_path_factory.mktemp("slew-first")
    site = make_site(
        folder, f"sqlite:///{folder / 'pyros.db'}", alpaca_devices_toml(alpaca_simulator.address)
    )
    service = MajordomeService(site.runtime).start()
    stop = threading.Event()

    def ticks() -> None:
        while not stop.is_set():
            service.tick()
            stop.wait(0.2)

    ticker = threading.Thread(target=ticks, daemon=True)
    ticker.start()
    yield site, service
    stop.set()
    ticker.join(10)
    service.stop()
    site.close()


def _plan(runtime, sequence_id: int) -> None:
    """What the alerts' fast path does before calling the pre-emption."""
    with runtime.sessions.begin() as session:
        session.get(Sequence, sequence_id).plan(runtime.clock.now())


def _executing(runtime) -> int | None:
    with runtime.sessions() as session:
        return session.scalar(
            select(Sequence.id).where(Sequence.status == SequenceStatus.EXECUTING)
        )


def test_the_slew_goes_out_before_the_pre_empted_sequence_is_settled(night):
    site, service = night
    rt, majordome = site.runtime, service.majordome
    routine = submit_sky_request(rt, "routine", 80.0, 0.0, exposure_s=2.0, count=4)
    replan(rt, "test")
    wait_for(lambda: _executing(rt) == routine, 120, 0.05, what="the routine sequence executing")
    urgent = submit_sky_request(rt, "GRB follow-up", 75.0, 200.0, exposure_s=1.0, count=1)
    _plan(rt, urgent)

    preemption = majordome.preempt(urgent, "GRB 261125B")
    # The call returns once the slew is out: the abort first, then the slew, both stamped.
    assert set(preemption.first.steps()) == {"abort", "slew"}
    assert preemption.first.steps()["abort"] <= preemption.first.steps()["slew"]
    preemption.join(60)
    wait_for(
        lambda: statuses(rt, [urgent])[urgent] == "executed",
        120,
        0.1,
        what="the urgent sequence executed",
    )
    events = list(majordome.events)
    # the slew was sent before the pre-empted sequence's end was stored (its end is held)
    assert events.index(("slew", urgent)) < events.index(("ended", routine)), events
    assert urgent not in service.observer.slews_sent  # the observer waited for that slew
    with rt.sessions() as session:
        pre_empted = session.get(Sequence, routine)
        assert str(pre_empted.status) == "to_be_planned"  # back in the pool, refunded
        assert pre_empted.status_reason == "preempted: GRB 261125B"
        target = session.get(Sequence, urgent)
        target = SkyCoord(ra=target.ra_deg * u.deg, dec=target.dec_deg * u.deg, frame="icrs")
    position = service.devices.get("mount").position()
    assert position.separation(target).deg < 0.5  # the one slew took the mount there


def test_a_target_below_its_limit_or_an_unsafe_site_gets_no_slew(night):
    site, service = night
    rt, majordome = site.runtime, service.majordome
    with rt.sessions.begin() as session:  # the first test's routine, back in the pool: gone
        for sequence in session.scalars(
            select(Sequence).where(Sequence.status == SequenceStatus.TO_BE_PLANNED)
        ):
            sequence.cancel(rt.clock.now(), "test: not needed")
    routine = submit_sky_request(rt, "long routine", 80.0, 90.0, exposure_s=10.0, count=6)
    replan(rt, "test")
    wait_for(lambda: _executing(rt) == routine, 180, 0.05, what="the long routine executing")

    # 10 deg up, below the horizon limit and the sequence's min_altitude_deg (30)
    low = submit_sky_request(rt, "low GRB", 10.0, 90.0, exposure_s=1.0, count=1)
    _plan(rt, low)
    preemption = majordome.preempt(low, "GRB low")
    assert preemption.first.refused and preemption.first.sent_unix is None
    assert "below" in preemption.first.why
    preemption.join(60)
    assert ("slew", low) not in majordome.events
    assert statuses(rt, [routine, low]) == {routine: "executing", low: "planned"}  # not aborted

    site.plc.set_value("WXT520", "RainRate", 4.0)
    wait_for(lambda: not majordome.verdict.is_safe, 60, 0.05, what="the verdict unsafe")
    urgent = submit_sky_request(rt, "GRB in the rain", 75.0, 200.0, exposure_s=1.0, count=1)
    _plan(rt, urgent)
    preemption = majordome.preempt(urgent, "GRB rain")
    assert preemption.first.refused and preemption.first.sent_unix is None
    assert "unsafe" in preemption.first.why
    preemption.join(60)
    assert ("slew", urgent) not in majordome.events
    assert statuses(rt, [urgent])[urgent] == "planned"  # waits in the schedule
