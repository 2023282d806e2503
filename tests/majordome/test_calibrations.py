"""The end of the night on the Alpaca simulator: after the dawn flats window the majordome
closes, parks, takes bias and darks (tonight's exposure times), then goes to `day`."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from orchestrator.devices.ports import ShutterState
from orchestrator.devices.registry import build_devices
from orchestrator.majordome.core import Majordome
from orchestrator.majordome.safety import Verdict
from orchestrator.majordome.states import State
from orchestrator.majordome.tick import tick
from orchestrator.model import Image
from orchestrator.observer import Observer
from tests.device_peers import reset_alpaca
from tests.helpers import wait_for
from tests.majordome.conftest import majordome_runtime

pytestmark = pytest.mark.timeout(300)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_after_the_dawn_flats_it_closes_and_takes_bias_and_darks(
    runtime, gateway, clock, alpaca_simulator, db_url
):
    reset_alpaca(alpaca_simulator)
    clock.advance(10 * 3600 + 10 * 60)  # 14:10 UTC: dawn flats (13:37-14:07) are over
    rt = majordome_runtime(runtime, gateway, alpaca=alpaca_simulator.address)
    rt.config = rt.config.model_copy(
        update={
            "calibrations": rt.config.calibrations.model_copy(
                update={"bias_count": 2, "dark_count": 2}
            )
        }
    )
    with rt.sessions.begin() as session:  # a light frame of tonight: its exposure needs darks
        session.add(
            Image(
                path="/tmp/light.fits",
                image_type="light",
                channel="VIS",
                date_obs=clock.now(),
                exposure_s=0.5,
                night="20261124",
            )
        )
    devices = build_devices(rt.config, clock, roles=["mount", "dome", "camera_vis"])
    try:
        majordome = Majordome(rt, devices, Observer(rt, devices))
        majordome.verdict = Verdict(True)
        devices.get("dome").open_shutter(timeout_s=60)
        majordome.store.move(State.NIGHT_WAITING, "test: night", force=True)
        assert tick(majordome) is State.DARKS_BIAS  # closed and parked on the way
        assert devices.get("dome").shutter_state() == ShutterState.CLOSED
        assert devices.get("mount").is_parked()
        tick(majordome)  # starts bias and darks in the majordome's worker
        wait_for(lambda: not majordome.busy, 120, 0.1, what="bias and darks taken")
        assert tick(majordome) is State.DAY
        with rt.sessions() as session:
            taken = [
                (i.image_type, i.exposure_s)
                for i in session.scalars(
                    select(Image).where(Image.image_type.in_(("bias", "dark"))).order_by(Image.id)
                )
            ]
        assert taken.count(("dark", 0.5)) == 2
        assert len([t for t in taken if t[0] == "bias"]) == 2
    finally:
        devices.close()
