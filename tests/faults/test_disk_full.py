"""The images folder's disk fills up during a sequence, on the real alpaca-simulators.

The full disk is real: a small tmpfs mounted on the images folder (the tests run as root; a
tmpfs needs no image file nor loop device, and `mount -o remount,size=` gives the space back
the way an operator's clean-up would). A simulator frame is about 2 MB, so a 3 MB tmpfs keeps
one frame and refuses the next with ENOSPC. What must hold: the sequence fails with cause
"disk" naming the images folder, no exposure is taken after the refused one, the frames
already written and their Image rows stay, the quota is refunded; the majordome starts
nothing while the disk is full, says so in its state reason, and goes on by itself once space
is back.
"""

from __future__ import annotations

import socket
import subprocess
import threading
from pathlib import Path

import pytest
from astropy.io import fits
from sqlalchemy import func, select

from orchestrator.majordome.states import StateStore
from orchestrator.model import Image, Sequence, SequenceStatus
from orchestrator.observer import Observer
from tests.device_peers import PausableProxy, reset_alpaca
from tests.helpers import wait_for
from tests.majordome.night_helpers import (
    alpaca_devices_toml,
    make_site,
    statuses,
    submit_sky_request,
)
from tests.orchestrator.observer_helpers import alpaca_toml, make_observatory, sky_request, used_h

pytestmark = pytest.mark.timeout(300)
FULL_SIZE = "3m"  # room for one ~2 MB simulator frame, not two


class CountingProxy(PausableProxy):
    """Forwards to the simulator and counts the StartExposure requests that pass."""

    def __init__(self, target: tuple[str, int]):
        self.exposures = 0
        self._count_lock = threading.Lock()
        super().__init__(target)

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                if b"/startexposure" in chunk.lower():
                    with self._count_lock:
                        self.exposures += chunk.lower().count(b"/startexposure")
                sink.sendall(chunk)
        except OSError:
            pass


def _mount_tmpfs(folder: Path, size: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs on the images folder (needs root): {done.stderr}")


def _resize(folder: Path, size: str) -> None:
    subprocess.run(["mount", "-o", f"remount,size={size}", str(folder)], check=True)


def _unmount(folder: Path) -> None:
    subprocess.run(["umount", "-l", str(folder)], check=False)


def _images(runtime, sequence_id: int | None = None) -> list[Image]:
    query = select(Image).order_by(Image.id)
    if sequence_id is not None:
        query = query.where(Image.sequence_id == sequence_id)
    with runtime.sessions() as session:
        rows = list(session.scalars(query))
        session.expunge_all()
        return rows


def _address(address: str) -> tuple[str, int]:
    host, port = address.rsplit(":", 1)
    return host, int(port)


@pytest.fixture
def full_disk_observatory(tmp_path, alpaca_simulator):
    reset_alpaca(alpaca_simulator)
    proxy = CountingProxy(_address(alpaca_simulator.address))
    fresh = {"stale_after_s = 10.0 ": "stale_after_s = 600.0"}
    toml = alpaca_toml(alpaca_simulator.address, {"camera_vis": proxy.address})
    obs = make_observatory(tmp_path, toml, replace=fresh)
    folder = obs.runtime.config.folders.images
    _mount_tmpfs(folder, FULL_SIZE)
    yield obs, proxy, folder
    obs.devices.close()
    obs.runtime.engine.dispose()
    proxy.close()
    _unmount(folder)
    reset_alpaca(alpaca_simulator)


def test_a_full_disk_fails_the_sequence_stops_exposing_and_keeps_the_frames(
    full_disk_observatory,
):
    obs, proxy, folder = full_disk_observatory
    runtime = obs.runtime
    sequence_id = sky_request(runtime, exposure_s=0.5, count=3, nir=False)  # 9 VIS frames
    before_h = used_h(runtime)

    result = Observer(runtime, obs.devices).execute(sequence_id)

    assert result.status == "failed" and result.cause == "disk", result
    assert f"images folder {folder}" in result.reason, result.reason
    assert "no space left on device" in result.reason, result.reason
    # one frame written, the second refused: no third exposure was started
    images = _images(runtime, sequence_id)
    assert result.frames == len(images) == 1, (result, images)
    assert proxy.exposures == 2, proxy.exposures
    # the kept frame is whole, and no temporary file of the refused one is left behind
    assert fits.getdata(images[0].path).size > 0
    assert Path(images[0].path).is_relative_to(folder)
    assert not [p for p in folder.rglob("*") if p.name.endswith(".tmp")]
    # not the user's fault: the hours are refunded and the sequence goes back to the pool
    assert used_h(runtime) == pytest.approx(before_h)
    with runtime.sessions() as session:
        sequence = session.get(Sequence, sequence_id)
        assert sequence.status == SequenceStatus.TO_BE_PLANNED, sequence.status
        assert "disk: images folder" in (sequence.status_reason or ""), sequence.status_reason


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'pyros.db'}"


def test_the_majordome_waits_while_the_disk_is_full_and_goes_on_when_space_is_back(
    tmp_path, sqlite_url, alpaca_simulator
):
    reset_alpaca(alpaca_simulator)
    site = make_site(
        tmp_path,
        sqlite_url,
        alpaca_devices_toml(alpaca_simulator.address),
        # a frame's worth: below it nothing starts (the shipped default is 500 MB)
        replace={"min_free_disk_mb = 1\n": "min_free_disk_mb = 2.5\n"},
    )
    rt = site.runtime
    folder = rt.config.folders.images
    _mount_tmpfs(folder, FULL_SIZE)
    ids = [
        submit_sky_request(rt, f"zenith {i}", alt_deg=80.0 - 5 * i, az_deg=90.0 * i, count=2)
        for i in range(2)
    ]
    try:
        site.start_orchestrator()
        snap = wait_for(
            lambda: (s := StateStore(rt).snapshot()).state.value == "night_waiting"
            and "images folder" in s.reason
            and s,
            120,
            0.1,
            what="the majordome waiting for the images disk",
        )
        assert f"images folder {folder} full" in snap.reason, snap.reason
        assert "majordome.min_free_disk_mb = 2.5" in snap.reason, snap.reason
        kept = _images(rt)
        assert len(kept) == 1, kept
        # the dome was not closed for a full disk (the weather keeps its own watch)
        assert StateStore(rt).snapshot().current_sequence_id is None
        # nothing starts while full, though sequences are due: the clock runs on 60 s (3 s)
        later = rt.clock.now().timestamp() + 60
        wait_for(lambda: rt.clock.now().timestamp() > later, 30, 0.1, what="a minute")
        snap = StateStore(rt).snapshot()
        assert snap.state.value == "night_waiting" and "images folder" in snap.reason, snap
        assert snap.current_sequence_id is None
        assert len(_images(rt)) == 1
        with rt.sessions() as session:
            assert session.scalar(select(func.count()).select_from(Image)) == 1

        _resize(folder, "64m")  # space is back

        wait_for(
            lambda: set(statuses(rt, ids).values()) == {"executed"},
            180,
            0.2,
            what=f"both sequences executed after the space came back: {statuses(rt, ids)}",
        )
        frames = _images(rt)
        assert frames[0].id == kept[0].id and Path(kept[0].path).exists()
        assert len(frames) == 1 + 2 * 3 * 2, frames  # the kept frame + two full sequences
    finally:
        site.close()
        _unmount(folder)
        reset_alpaca(alpaca_simulator)
