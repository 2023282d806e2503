"""Operator commands: each row is taken exactly once; device commands only in MANUAL mode, a bad
argument or an unsafe move ends `refused` with the reason and nothing moves; an operator may
force a move (logged). Devices are the real Alpaca simulator, safety our real gateway."""

from __future__ import annotations

import threading

from sqlalchemy import select

from orchestrator.devices.ports import ShutterState
from orchestrator.devices.registry import Devices, build_devices
from orchestrator.majordome.commands import CommandRunner, queue, take
from orchestrator.majordome.core import Majordome
from orchestrator.model import Command, Image
from tests.device_peers import reset_alpaca
from tests.majordome.conftest import majordome_runtime, make_safe


def _row(runtime, command_id) -> Command:
    with runtime.sessions() as session:
        return session.get(Command, command_id)


def test_each_command_is_taken_exactly_once(runtime):
    ids = [queue(runtime, "pause") for _ in range(5)]
    wins: list[int] = []
    lock = threading.Lock()

    def taker() -> None:
        for command_id in ids:
            if take(runtime, command_id):
                with lock:
                    wins.append(command_id)

    threads = [threading.Thread(target=taker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(wins) == ids  # every command once, none twice
    assert all(_row(runtime, i).status == "taken" for i in ids)


def test_device_commands_outside_manual_and_bad_arguments_are_refused(runtime, gateway, clock):
    rt = majordome_runtime(runtime, gateway)
    runner = CommandRunner(Majordome(rt, Devices(), observer=None))
    in_auto = queue(rt, "slew", {"ra_deg": 10.0, "dec_deg": 20.0})
    runner()
    row = _row(rt, in_auto)
    assert row.status == "refused" and "MANUAL mode only" in row.result and row.done
    runner.majordome.store.set(mode="MANUAL")
    for args, reason in (
        ({"ra_deg": 400.0, "dec_deg": 0.0}, "ra_deg: must be within 0..360"),
        ({"ra_deg": "ten", "dec_deg": 0.0}, "ra_deg: must be a number"),
    ):
        command_id = queue(rt, "slew", args)
        runner()
        row = _row(rt, command_id)
        assert (row.status, row.result) == ("refused", f"{reason} (got {args['ra_deg']!r})")
    low = queue(rt, "slew", {"alt_deg": -5.0, "az_deg": 10.0})  # alt/az, as the web page sends
    runner()
    assert _row(rt, low).result == "alt_deg: must be within 0..90 (got -5.0)"
    lights = queue(rt, "lights", {"on": "yes"})
    runner()
    assert _row(rt, lights).result == "on: must be true or false (got 'yes')"
    bad_camera = queue(rt, "expose", {"camera": "uv", "exposure_s": 1.0})
    runner()
    assert _row(rt, bad_camera).result.startswith("camera: must be vis or nir")


def test_manual_moves_obey_the_interlock_unless_forced(
    runtime, gateway, clock, alpaca_simulator, caplog
):
    reset_alpaca(alpaca_simulator)
    rt = majordome_runtime(runtime, gateway, alpaca=alpaca_simulator.address)
    devices = build_devices(rt.config, clock, roles=["dome", "camera_vis", "filterwheel_vis"])
    try:
        runner = CommandRunner(Majordome(rt, devices, observer=None))
        runner.majordome.store.set(mode="MANUAL")
        dome = devices.get("dome")
        refused = queue(rt, "dome_open", {})
        runner()  # the gateway's reopen delay is not over: unsafe
        row = _row(rt, refused)
        assert row.status == "refused" and "UNSAFE" in row.result and "--force" in row.result
        assert dome.shutter_state() == ShutterState.CLOSED  # nothing moved
        forced = queue(rt, "dome_open", {"force": True}, issued_by="operator")
        runner()
        assert _row(rt, forced).status == "done"
        assert dome.shutter_state() == ShutterState.OPEN
        assert any("FORCED by operator" in r.getMessage() for r in caplog.records)
        make_safe(gateway, clock)
        exposure = queue(rt, "expose", {"camera": "vis", "filter": "r", "exposure_s": 0.5})
        runner()
        assert _row(rt, exposure).status == "done", _row(rt, exposure).result
        with rt.sessions() as session:
            image = session.scalar(select(Image).order_by(Image.id.desc()))
        assert (image.channel, image.filter_name, image.exposure_s) == ("VIS", "r", 0.5)
        close = queue(rt, "dome_close", {})
        runner()
        assert _row(rt, close).status == "done"
        assert dome.shutter_state() == ShutterState.CLOSED
    finally:
        devices.close()
