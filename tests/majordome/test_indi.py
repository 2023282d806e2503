"""The majordome's path on indiserver's simulators (mount, dome, CCD): a manual exposure and
the safety reaction (rain at our PLC simulator: close the INDI dome, park the INDI mount)."""

from __future__ import annotations

import tomllib

import pytest
from sqlalchemy import select

from orchestrator.config import DevicesConfig
from orchestrator.devices.ports import ShutterState
from orchestrator.devices.registry import build_devices
from orchestrator.majordome.commands import CommandRunner, queue
from orchestrator.majordome.core import Majordome
from orchestrator.majordome.monitor import SafetyWatcher
from orchestrator.majordome.states import State
from orchestrator.model import Command, Image
from orchestrator.observer import Observer
from tests.device_peers import INDI_NAMES
from tests.helpers import wait_for
from tests.majordome.conftest import majordome_runtime, make_safe

pytestmark = pytest.mark.timeout(300)
ROLES = ("mount", "dome", "camera_vis", "filterwheel_vis")


def _indi_toml(address: str) -> str:
    chunks = []
    for role in ROLES:
        chunk = (
            f'[devices.{role}]\nadapter = "indi"\naddress = "{address}"\n'
            f'device_name = "{INDI_NAMES[role]}"\ntimeout_s = 10\n'
        )
        if role == "filterwheel_vis":
            chunk += 'filters = ["u", "g", "r", "i", "z"]\n'
        chunks.append(chunk)
    return "\n".join(chunks)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_manual_exposure_and_safety_reaction_on_indi(
    runtime, gateway, plc_sim, clock, indi_server, db_url
):
    rt = majordome_runtime(runtime, gateway)
    devices_config = DevicesConfig.model_validate(
        tomllib.loads(_indi_toml(indi_server.address))["devices"]
    )
    rt.config = rt.config.model_copy(update={"devices": devices_config})
    make_safe(gateway, clock)
    devices = build_devices(rt.config, clock)
    majordome = Majordome(rt, devices, Observer(rt, devices))
    watcher = SafetyWatcher(majordome)
    try:
        watcher.poll_once()
        assert majordome.verdict.is_safe
        majordome.store.set(mode="MANUAL")
        runner = CommandRunner(majordome)
        exposure = queue(rt, "expose", {"camera": "vis", "filter": "g", "exposure_s": 1.0})
        runner()
        with rt.sessions() as session:
            row = session.get(Command, exposure)
            assert row.status == "done", row.result
            image = session.scalar(select(Image).order_by(Image.id.desc()))
        assert (image.channel, image.filter_name) == ("VIS", "g")
        dome, mount = devices.get("dome"), devices.get("mount")
        dome.open_shutter(timeout_s=60)
        if mount.is_parked():
            mount.unpark(timeout_s=60)
        majordome.store.move(State.OBSERVING, "test: observing", force=True)
        majordome.store.set(mode="AUTO")
        watcher.start()
        plc_sim.set_value("WXT520", "RainRate", 4.0)
        wait_for(
            lambda: majordome.store.state is State.CLOSED_WEATHER,
            120,
            0.1,
            what="closed for the weather",
        )
        assert dome.shutter_state() == ShutterState.CLOSED
        assert mount.is_parked()
        reason = majordome.store.snapshot().reason
        assert "close dome done" in reason and "park mount done" in reason, reason
    finally:
        watcher.stop()
        devices.close()
