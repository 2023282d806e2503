"""A night on real peers (PLC simulator over TCP, our gateway, alpaca-simulators) with the
orchestrator's own jobs on the accelerated clock: three requests execute; rain during an
exposure aborts, closes, parks and re-plans, the dome reopens after the delay and the rest of
the night executes; a mount that stops answering mid-slew fails its sequence naming it."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import func, select

from orchestrator.devices.ports import ShutterState
from orchestrator.devices.registry import build_devices
from orchestrator.majordome.states import StateStore
from orchestrator.model import Image, MajordomeHistory, Sequence, User
from tests.device_peers import PausableProxy, reset_alpaca
from tests.helpers import wait_for
from tests.majordome.night_helpers import (
    alpaca_devices_toml,
    make_site,
    statuses,
    submit_sky_request,
)

pytestmark = pytest.mark.timeout(600)


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'pyros.db'}"


def _images(runtime, sequence_id) -> list[Image]:
    with runtime.sessions() as session:
        return list(session.scalars(select(Image).where(Image.sequence_id == sequence_id)))


def _slewing(peer) -> bool:
    url = f"http://{peer.address}/api/v1/telescope/0/slewing"
    with urllib.request.urlopen(url, timeout=2) as answer:
        return json.loads(answer.read())["Value"]


def _history(runtime) -> list[tuple[str, str, str]]:
    with runtime.sessions() as session:
        return [
            (h.from_state, h.to_state, h.reason)
            for h in session.scalars(select(MajordomeHistory).order_by(MajordomeHistory.id))
        ]


def test_a_night_with_rain_executes_three_requests(tmp_path, sqlite_url, alpaca_simulator):
    reset_alpaca(alpaca_simulator)
    site = make_site(tmp_path, sqlite_url, alpaca_devices_toml(alpaca_simulator.address))
    rt, plc = site.runtime, site.plc
    ids = [
        submit_sky_request(rt, f"zenith {i}", alt_deg=80.0 - 5 * i, az_deg=90.0 * i)
        for i in range(3)
    ]
    try:
        site.start_orchestrator()
        first = wait_for(
            lambda: StateStore(rt).snapshot().current_sequence_id,
            90,
            0.1,
            what="a sequence started",
        )
        assert first in ids
        # rain during an exposure of the first sequence
        wait_for(lambda: _images(rt, first), 60, 0.05, what="a first frame")
        plc.set_value("WXT520", "RainRate", 4.0)
        wait_for(
            lambda: StateStore(rt).snapshot().state.value == "closed_weather",
            60,
            0.05,
            what="closed for the weather",
        )
        with rt.sessions() as session:
            rained = session.get(Sequence, first)
            assert str(rained.status) in ("to_be_planned", "planned")  # back in the pool
        reason = StateStore(rt).snapshot().reason
        assert reason.startswith("weather: ")
        for step in ("abort exposures done", "close dome done", "park mount done"):
            assert step in reason, reason
        devices = build_devices(rt.config, rt.clock, roles=["dome", "mount"])
        try:
            assert devices.get("dome").shutter_state() == ShutterState.CLOSED
            assert devices.get("mount").is_parked()
        finally:
            devices.close()
        plc.set_value("WXT520", "RainRate", 0.0)  # dry again: the gateway's delay, then open
        wait_for(
            lambda: set(statuses(rt, ids).values()) == {"executed"},
            300,
            0.2,
            what="three sequences executed",
        )
    finally:
        site.close()
    moves = [(a, b) for a, b, _ in _history(rt)]
    assert ("closing", "closed_weather") in moves
    assert moves.index(("closing", "closed_weather")) < len(moves) - 1
    reopened = [i for i, m in enumerate(moves) if m[1] == "opening"]
    assert len(reopened) >= 2  # opened, closed by the rain, opened again
    for sequence_id in ids:
        images = _images(rt, sequence_id)
        assert len(images) >= 6  # g, r, i x 2 (the rained one keeps its first frames too)
        assert all(Path(i.path).is_file() for i in images)
    with rt.sessions() as session:
        used_h = session.scalar(select(User.used_h).where(User.username == "alice"))
        executing = session.scalar(
            select(func.count()).select_from(Sequence).where(Sequence.status == "executing")
        )
    assert used_h > 0 and executing == 0


def test_a_mount_that_stops_answering_mid_slew_fails_its_sequence_naming_it(
    tmp_path, sqlite_url, alpaca_simulator
):
    reset_alpaca(alpaca_simulator)
    host, port = alpaca_simulator.address.split(":")
    proxy = PausableProxy((host, int(port)))
    site = make_site(
        tmp_path,
        sqlite_url,
        alpaca_devices_toml(alpaca_simulator.address, {"mount": proxy.address}),
        replace={"slew_timeout_s = 180.0": "slew_timeout_s = 4.0"},
    )
    rt = site.runtime
    sequence_id = submit_sky_request(rt, "hung mount", alt_deg=30.5, az_deg=0.0)
    try:
        site.start_orchestrator()
        wait_for(
            lambda: statuses(rt, [sequence_id])[sequence_id] == "executing",
            90,
            0.02,
            what="executing",
        )
        wait_for(lambda: _slewing(alpaca_simulator), 60, 0.02, what="the mount slewing")
        proxy.pause()  # mid-slew, the mount's server hangs behind a live socket
        wait_for(
            lambda: StateStore(rt).snapshot().state.value == "error", 90, 0.1, what="error state"
        )
        snap = StateStore(rt).snapshot()
        # the safe state, the device and its action named (the sequence's own reason is
        # overwritten by the re-plan that puts it back in the schedule)
        assert snap.reason.startswith("device: mount: "), snap.reason
        assert "close dome done" in snap.reason
        with rt.sessions() as session:
            failed = session.get(Sequence, sequence_id)
            assert str(failed.status) in ("to_be_planned", "planned")  # re-plannable
        proxy.resume()
        wait_for(
            lambda: StateStore(rt).snapshot().state.value != "error",
            90,
            0.1,
            what="recovered from error",
        )
    finally:
        site.close()
        proxy.close()
