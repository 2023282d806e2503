"""The observer path against indiserver's simulators: mount, dome, one camera and its wheel."""

from __future__ import annotations

from astropy.io import fits
from sqlalchemy import select

from orchestrator.model import Image, Sequence, SequenceStatus
from orchestrator.observer import Observer
from tests.device_peers import INDI_NAMES, config_text
from tests.orchestrator.observer_helpers import make_observatory, sky_request
from tests.orchestrator.test_devices_check import _put_indi_mount_near_the_check_target

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


def test_a_vis_sequence_executes_on_indi_simulators(tmp_path, indi_server):
    toml = _indi_toml(indi_server.address)
    (tmp_path / "pyros.toml").write_text(config_text(toml))
    _put_indi_mount_near_the_check_target(tmp_path / "pyros.toml")
    obs = make_observatory(tmp_path, toml)
    try:
        runtime = obs.runtime
        sequence_id = sky_request(runtime, exposure_s=1.0, count=1, nir=False)
        result = Observer(runtime, obs.devices).execute(sequence_id)
        assert (result.status, result.frames) == ("executed", 3), result
        with runtime.sessions() as session:
            assert session.get(Sequence, sequence_id).status == SequenceStatus.EXECUTED
            images = session.scalars(select(Image).where(Image.sequence_id == sequence_id)).all()
        assert [(i.channel, i.filter_name) for i in images] == [("VIS", f) for f in "gri"]
        for image in images:
            header = fits.getheader(image.path)
            assert header["IMAGETYP"] == "LIGHT" and header["FILTER"] == image.filter_name
            assert header["INSTRUME"].startswith("INDI 'CCD Simulator'")
            assert abs(header["TELDEC"] - header["DEC"]) < 0.2
    finally:
        obs.devices.close()
        obs.runtime.engine.dispose()
