"""One album on one camera: its plans in order (filter, binning, `count` exposures), each
frame written as FITS with its Image row, progress stored after every frame.

Runs in its own thread beside the other channel's album; every blocking call goes through
`Run.wait_call`, so an abort or the other album's failure ends it at once.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from astropy.coordinates import SkyCoord

from orchestrator.devices.errors import DeviceError
from orchestrator.devices.registry import Devices
from orchestrator.observer import progress
from orchestrator.observer.fits import Exposure, ImagesFolderError, save_image
from orchestrator.observer.progress import AlbumWork, PlanWork, SequenceWork
from orchestrator.observer.run import Run, Stopped
from orchestrator.runtime import Runtime

log = logging.getLogger(__name__)


class ProgressBoard:
    """The per-channel lines joined into Sequence.progress
    ("NIR plan 1/2 J frame 4/5 · VIS plan 2/3 r frame 2/3")."""

    def __init__(self, runtime: Runtime, sequence_id: int):
        self.runtime = runtime
        self.sequence_id = sequence_id
        self._lines: dict[str, str] = {}
        self._lock = threading.Lock()

    def show(self, channel: str, text: str) -> None:
        with self._lock:
            self._lines[channel] = text
            line = " · ".join(f"{c} {t}" for c, t in sorted(self._lines.items()))
            progress.set_progress(self.runtime, self.sequence_id, line[:256])


class AlbumRunner:
    def __init__(
        self,
        runtime: Runtime,
        devices: Devices,
        run: Run,
        work: SequenceWork,
        target: SkyCoord,
        board: ProgressBoard,
    ):
        self.runtime = runtime
        self.devices = devices
        self.run = run
        self.work = work
        self.target = target
        self.board = board
        self.frames = 0
        self._frames_lock = threading.Lock()

    def album(self, album: AlbumWork) -> None:
        """The body of one album thread: never raises (failures go to `Run.fail`)."""
        try:
            progress.set_album(self.runtime, album.id, progress.RUNNING)
            camera = self.devices.get(f"camera_{album.channel.lower()}")
            wheel_role = f"filterwheel_{album.channel.lower()}"
            wheel = self.devices.get(wheel_role) if wheel_role in self.devices else None
            for index, plan in enumerate(album.plans, start=1):
                where = f"plan {index}/{len(album.plans)} {plan.filter_name}"
                self._plan(album.channel, where, plan, camera, wheel)
            progress.set_album(self.runtime, album.id, progress.DONE)
        except Stopped:
            pass
        except DeviceError as exc:
            self.run.fail("device", f"{exc.role}: {exc.action}: {exc.reason}")
        except ImagesFolderError as exc:  # no exposure more: it could not be kept either
            self.run.fail("disk", str(exc))
        except Exception as exc:  # noqa: BLE001 - the sequence must end, not the thread die
            log.exception("album %s of sequence %s", album.channel, self.work.id)
            self.run.fail("device", f"observer ({album.channel}): {type(exc).__name__}: {exc}")

    def _plan(self, channel: str, where: str, plan: PlanWork, camera: Any, wheel: Any) -> None:
        run, config = self.run, self.runtime.config.observer
        run.check()
        progress.set_plan(self.runtime, plan.id, progress.RUNNING, 0)
        if wheel is not None:
            self.board.show(channel, f"{where} filter change")
            run.wait_call(wheel.move_to, plan.filter_name, timeout_s=config.filter_timeout_s)
        run.wait_call(camera.set_binning, plan.binning, plan.binning)
        for k in range(1, plan.count + 1):
            self.board.show(channel, f"{where} frame {k}/{plan.count}")
            self._frame(channel, plan, camera)
            progress.set_plan(self.runtime, plan.id, progress.RUNNING, k)
        progress.set_plan(self.runtime, plan.id, progress.DONE, plan.count)

    def _frame(self, channel: str, plan: PlanWork, camera: Any) -> None:
        run, config = self.run, self.runtime.config.observer
        run.check()
        date_obs = self.runtime.clock.now()
        with run.lock:
            run.check()
            run.exposing.add(camera.role)
        try:
            run.wait_call(camera.start_exposure, plan.exposure_s, True)
            if run.stop.is_set():  # an abort raced the start: make sure this one is aborted
                camera.abort_exposure()
            run.wait_call(camera.wait_exposure, timeout_s=plan.exposure_s + config.readout_margin_s)
        finally:
            with run.lock:
                run.exposing.discard(camera.role)
        data = run.wait_call(camera.image)
        mount = self.devices.get("mount")
        bin_x, bin_y = run.wait_call(camera.binning)
        exposure = Exposure(
            channel=channel,
            image_type="light",
            date_obs=date_obs,
            exposure_s=plan.exposure_s,
            instrument=camera.describe(),
            telescope=mount.describe(),
            filter_name=plan.filter_name,
            object_name=self.work.target_name,
            target=self.target,
            mount_position=run.wait_call(mount.position),
            ccd_temp_c=run.wait_call(camera.ccd_temperature_c),
            bin_x=bin_x,
            bin_y=bin_y,
            gain=run.wait_call(camera.gain),
            request_id=self.work.request_id,
            sequence_id=self.work.id,
            plan_id=plan.id,
        )
        save_image(self.runtime, data, exposure)
        with self._frames_lock:
            self.frames += 1
