"""The observer: executes one planned sequence on the devices, start to end.

`Observer.execute()` charges the quota, refuses a target below the horizon or the sequence's
altitude limit before anything moves, slews, makes the dome follow, runs the VIS and NIR albums
in parallel threads and stores statuses as they move. It never opens or closes the dome on its
own: the majordome opens before and runs the safety reaction, calling `abort()`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import astropy.units as u
from astropy.coordinates import SkyCoord

from orchestrator.devices.coords import horizontal_deg, icrs_deg
from orchestrator.devices.errors import DeviceError, TargetBelowHorizon
from orchestrator.devices.ports import CAN_DOME_AZIMUTH
from orchestrator.devices.registry import Devices
from orchestrator.errors import PyrosError
from orchestrator.observer import progress
from orchestrator.observer.albums import AlbumRunner, ProgressBoard
from orchestrator.observer.progress import CAUSES, SequenceWork
from orchestrator.observer.run import Run, Stopped, monotonic_s
from orchestrator.runtime import Runtime

log = logging.getLogger(__name__)
ABORT_WAIT_S = 5.0  # execute() waits this long at most for the AbortExposure calls to return
HOLD_WAIT_S = 10.0  # an aborted execution's bookkeeping waits this long at most for its hold
PRESLEW_VALID_S = 60.0  # a slew sent by the majordome's pre-emption counts for this long


class ObserverBusy(PyrosError):
    """execute() was called while another sequence runs: no sequence runs twice at once."""


@dataclass(frozen=True)
class ExecutionResult:
    sequence_id: int
    status: str  # "executed" or "failed"
    cause: str | None  # None when executed; else a key of progress.CAUSES
    reason: str  # one line
    frames: int  # frames written by this execution


class Observer:
    """Runs one sequence at a time on `devices`; `abort()` may come from any thread."""

    def __init__(
        self,
        runtime: Runtime,
        devices: Devices,
        on_slew: Callable[..., None] | None = None,
    ):
        self.runtime = runtime
        self.devices = devices
        # Told the moment the slew command of a sequence is sent, as
        # on_slew(sequence_id, at_unix=...): the alert latency chain's "slew" step.
        self.on_slew = on_slew
        # (sequence id, RA, Dec, monotonic s): the majordome's pre-emption sent the mount there
        self._preslewed: tuple[int, float, float, float] | None = None
        self.slews_sent: deque[int] = deque(maxlen=100)  # sequences this observer slewed for
        self._lock = threading.Lock()
        self._run: Run | None = None
        # (camera role, monotonic instant AbortExposure returned): the bench reads these
        self.aborts_sent: list[tuple[str, float]] = []
        self._dome_turns: bool | None = None  # the dome can turn to an azimuth
        self._sequence_id: int | None = None

    @property
    def busy(self) -> bool:
        return self._run is not None

    @property
    def sequence_id(self) -> int | None:
        """The sequence executing now, if any."""
        return self._sequence_id

    def abort(self, cause: str, reason: str, hold: threading.Event | None = None) -> None:
        """Thread-safe, returns at once: abort running exposures and make execute() return
        failed with `cause` as soon as possible. Nothing happens when idle.

        With `hold`, the aborted execution stores its end (statuses, quota) only once `hold`
        is set (at most HOLD_WAIT_S later): the pre-emption sends its slew first."""
        if cause not in CAUSES:
            raise ValueError(f"cause must be one of {', '.join(CAUSES)} (got {cause!r})")
        run = self._run
        if run is not None:
            if hold is not None:
                run.hold = hold
            run.fail(cause, reason)

    def note_slew(self, sequence_id: int, ra_deg: float, dec_deg: float) -> None:
        """The majordome sent the mount to this sequence's target: when the sequence executes
        next (and nothing pointed in between), it waits for that slew instead of sending it
        again."""
        self._preslewed = (sequence_id, ra_deg, dec_deg, time.monotonic())

    def forget_slew(self) -> None:
        """The mount may have moved since (safety reaction, pre-emption that did not start)."""
        self._preslewed = None

    def _take_preslew(self, work: SequenceWork) -> bool:
        pre, self._preslewed = self._preslewed, None  # whoever points next consumes it
        return (
            pre is not None
            and pre[:3] == (work.id, work.ra_deg, work.dec_deg)
            and time.monotonic() - pre[3] <= PRESLEW_VALID_S
        )

    def _abort_cameras(self, run: Run) -> None:
        with run.lock:
            roles = sorted(run.exposing)
        for role in roles:
            thread = threading.Thread(
                target=self._abort_camera, args=(role,), name=f"abort-{role}", daemon=True
            )
            thread.start()
            run.abort_threads.append(thread)

    def _abort_camera(self, role: str) -> None:
        try:
            self.devices.get(role).abort_exposure()
            self.aborts_sent.append((role, monotonic_s()))
        except DeviceError as exc:
            log.warning("cannot abort the exposure: %s", exc)

    def execute(self, sequence_id: int) -> ExecutionResult:
        """Blocking: run one PLANNED sequence now; see the module docstring.

        Raises ObserverBusy if a sequence is already running, IllegalTransition if this one
        is not PLANNED; device trouble never raises (failed, cause "device")."""
        with self._lock:
            if self._run is not None:
                raise ObserverBusy(
                    f"cannot execute sequence {sequence_id}: another sequence is executing"
                )
            run = Run(on_stop=lambda: self._abort_cameras(run))
            self._run, self._sequence_id = run, sequence_id
        try:
            work = progress.start(self.runtime, sequence_id, self.runtime.clock.now())
            log.info("sequence %s (%s) starts", work.id, work.name)
            try:
                runner = self._execute(run, work)
            except Exception as exc:  # noqa: BLE001 - the sequence must not stay EXECUTING
                log.exception("sequence %s", work.id)
                run.fail("device", f"observer: {type(exc).__name__}: {exc}"[:300])
                runner = None
            for thread in list(run.abort_threads):  # AbortExposure sent before we report
                thread.join(ABORT_WAIT_S)
            hold = run.hold
            if hold is not None and not hold.wait(HOLD_WAIT_S):
                log.warning("sequence %s: its end is stored without its hold", work.id)
            frames = runner.frames if runner is not None else 0
            return self._end(run, work, frames)
        finally:
            with self._lock:
                self._run, self._sequence_id = None, None

    def _execute(self, run: Run, work: SequenceWork) -> AlbumRunner | None:
        target = SkyCoord(ra=work.ra_deg * u.deg, dec=work.dec_deg * u.deg, frame="icrs")
        try:
            self._check_altitude(run, work, target)
            if run.stop.is_set():
                return None
            self._point(run, target, work)
        except Stopped:
            return None
        except TargetBelowHorizon as exc:
            run.fail("user", f"{exc.role}: {exc.action}: {exc.reason}")
            return None
        except DeviceError as exc:
            run.fail("device", f"{exc.role}: {exc.action}: {exc.reason}")
            return None
        runner = AlbumRunner(
            self.runtime, self.devices, run, work, target, ProgressBoard(self.runtime, work.id)
        )
        threads = [
            threading.Thread(
                target=runner.album, args=(album,), name=f"album-{album.channel}", daemon=True
            )
            for album in work.albums
        ]
        follower = threading.Thread(
            target=self._follow, args=(run, target), name="dome-follow", daemon=True
        )
        for thread in threads:
            thread.start()
        follower.start()
        for thread in threads:
            while thread.is_alive() and not run.stop.is_set():
                thread.join(0.05)
        # On a stop the album threads leave at their next wait (within a few ms); the ones
        # blocked in a device call are abandoned to the guard's deadline.
        for thread in threads:
            thread.join(1.0)
        with run.lock:
            finished = run.cause is None
        if finished:
            run.stop.set()  # ends the dome follower; not a failure
        follower.join(1.0)
        return runner

    def _check_altitude(self, run: Run, work: SequenceWork, target: SkyCoord) -> None:
        site = self.runtime.config.site
        alt_deg, _ = horizontal_deg(work.ra_deg, work.dec_deg, site, self.runtime.clock.now())
        if alt_deg < site.horizon_deg:
            run.fail(
                "user",
                f"mount: slew: target at altitude {alt_deg:.1f} deg is below the horizon "
                f"(site.horizon_deg = {site.horizon_deg:g})",
            )
        elif alt_deg < work.min_altitude_deg:
            run.fail(
                "user",
                f"mount: slew: target at altitude {alt_deg:.1f} deg is below the sequence's "
                f"altitude limit (min_altitude_deg = {work.min_altitude_deg:g})",
            )

    def _point(self, run: Run, target: SkyCoord, work: SequenceWork) -> None:
        """Slew the mount (unparking it first), then turn the dome slit to it."""
        config = self.runtime.config.observer
        mount = self.devices.get("mount")
        if self._take_preslew(work):
            # the pre-emption sent this slew moments ago (and told the hook): wait for it
            log.info("sequence %s: the mount is already slewing to its target", work.id)
        else:
            if run.wait_call(mount.is_parked):
                run.wait_call(mount.unpark, timeout_s=config.slew_timeout_s)
            run.wait_call(mount.start_slew, target)
            self.slews_sent.append(work.id)
            if self.on_slew is not None:
                try:
                    self.on_slew(work.id, at_unix=time.time())  # latency chains: wall time
                except Exception:  # a bookkeeping hook never stops a slew
                    log.exception("on_slew hook failed for sequence %s", work.id)
        run.wait_call(mount.wait_slew, timeout_s=config.slew_timeout_s)
        self._turn_dome(run, target, force=True)

    def _turn_dome(self, run: Run, target: SkyCoord, force: bool) -> None:
        if "dome" not in self.devices:
            return
        dome = self.devices.get("dome")
        if self._dome_turns is None:  # asked once: each call is several device requests
            self._dome_turns = CAN_DOME_AZIMUTH in run.wait_call(dome.capabilities)
        if not self._dome_turns:
            return
        config = self.runtime.config.observer
        site, now = self.runtime.config.site, self.runtime.clock.now()
        _, az_deg = horizontal_deg(*icrs_deg(target), site, now)
        off_deg = abs((run.wait_call(dome.azimuth_deg) - az_deg + 180.0) % 360.0 - 180.0)
        if force or off_deg > config.dome_follow_tolerance_deg:
            run.wait_call(dome.slew_to_azimuth, az_deg, timeout_s=config.dome_timeout_s)

    def _follow(self, run: Run, target: SkyCoord) -> None:
        """The slit follows the tracking mount while the albums run."""
        period_s = self.runtime.config.observer.dome_follow_period_s
        while not run.stop.wait(period_s):
            try:
                self._turn_dome(run, target, force=False)
            except Stopped:
                return
            except DeviceError as exc:
                run.fail("device", f"{exc.role}: {exc.action}: {exc.reason}")
                return

    def _end(self, run: Run, work: SequenceWork, frames: int) -> ExecutionResult:
        now = self.runtime.clock.now()
        with run.lock:
            cause, reason = run.cause, run.reason
        if cause is None:
            progress.finish(self.runtime, work.id, now)
            log.info("sequence %s executed: %d frames", work.id, frames)
            return ExecutionResult(work.id, "executed", None, "", frames)
        refunded = progress.fail(self.runtime, work.id, now, cause, reason)
        log.warning(
            "sequence %s failed (%s): %s; %d frames kept, quota %s",
            work.id,
            cause,
            reason,
            frames,
            "refunded" if refunded else "charged",
        )
        return ExecutionResult(work.id, "failed", cause, reason, frames)
