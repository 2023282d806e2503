"""The images folder's disk fills up during a sequence, on the real alpaca-simulators.

The full disk is real: a small tmpfs mounted on the images folder (the tests run as root; a
tmpfs needs no image file nor loop device, and `mount -o remount,size=` gives the space back
the way an operator's clean-up would). A simulator frame is about 2 MB, so a 3 MB tmpfs keeps
one frame and refuses the next with ENOSPC; `remount,ro` gives a read-only images folder
(free space shown, writes refused, as with a quota or a failing disk). What must hold: the
sequence fails with cause "disk" naming the images folder, no exposure is taken after the
refused one, the frames already written and their Image rows stay, the quota is refunded;
the majordome starts nothing while the folder is full or unwritable, says so in its state
reason, and goes on by itself once space (or write access) is back.
"""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import urllib.request
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


def _remount(folder: Path, options: str) -> None:
    subprocess.run(["mount", "-o", options, str(folder)], check=True)


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


def _shutter_status(peer) -> int:
    """The simulator dome's ShutterStatus, asked directly (0 open, 1 closed)."""
    url = f"http://{peer.address}/api/v1/dome/0/shutterstatus"
    with urllib.request.urlopen(url, timeout=2) as answer:
        return json.loads(answer.read())["Value"]


# fault: (images tmpfs size, how to break it, what the state reason says, frames kept, repair)
FAULTS = {
    "full": (FULL_SIZE, None, "full: ", 1, ["remount,size=64m"]),
    "read-only": ("64m", "remount,ro", "not writable: Read-only file system", 0, ["remount,rw"]),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_the_majordome_waits_while_images_cannot_be_written_and_goes_on_after(
    tmp_path, sqlite_url, alpaca_simulator, fault
):
    size, breaking, says, kept_count, repair = FAULTS[fault]
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
    _mount_tmpfs(folder, size)
    if breaking:
        _remount(folder, breaking)
    ids = [
        submit_sky_request(rt, f"zenith {i}", alt_deg=80.0 - 5 * i, az_deg=90.0 * i, count=2)
        for i in range(2)
    ]
    try:
        site.start_orchestrator()
        snap = wait_for(
            lambda: (
                (s := StateStore(rt).snapshot()).state.value == "night_waiting"
                and "images folder" in s.reason
                and s
            ),
            120,
            0.1,
            what="the majordome waiting for the images folder",
        )
        assert f"waiting for safe: images folder {folder} {says}" in snap.reason, snap.reason
        kept = _images(rt)
        assert len(kept) == kept_count, kept
        # a full disk is no reason to close: the weather keeps its own watch
        assert _shutter_status(alpaca_simulator) == 0
        # nothing starts while it lasts, though a sequence is due: the clock runs on 60 s (3 s)
        later = rt.clock.now().timestamp() + 60
        wait_for(lambda: rt.clock.now().timestamp() > later, 30, 0.1, what="a minute")
        assert "planned" in statuses(rt, ids).values(), statuses(rt, ids)
        snap = StateStore(rt).snapshot()
        assert snap.state.value == "night_waiting" and "images folder" in snap.reason, snap
        assert snap.current_sequence_id is None
        with rt.sessions() as session:
            assert session.scalar(select(func.count()).select_from(Image)) == kept_count

        for option in repair:  # the space or the write access is back
            _remount(folder, option)

        wait_for(
            lambda: set(statuses(rt, ids).values()) == {"executed"},
            180,
            0.2,
            what="both sequences executed after the images folder came back",
        )
        frames = _images(rt)
        assert [f.id for f in frames[:kept_count]] == [f.id for f in kept]
        assert all(Path(f.path).exists() for f in frames)
        assert len(frames) == kept_count + 2 * 3 * 2, frames  # + two whole sequences
    finally:
        site.close()
        _unmount(folder)
        reset_alpaca(alpaca_simulator)
