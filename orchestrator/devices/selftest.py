"""The self-test of `pyros devices check`: the operator's first command on a new site.

Connects every configured device and exercises it: slew the mount near the zenith, turn the
dome to it, open and close the shutter, move each filter wheel and the focuser, take a 1 s
exposure per camera written as FITS (with its Image row), and park the mount again. Each step
is timed; a failing device fails its steps without stopping the others.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from orchestrator.devices.coords import altaz, from_altaz
from orchestrator.devices.guard import StatusSink, short_reason
from orchestrator.devices.ports import CAN_DOME_AZIMUTH, ROLE_KINDS
from orchestrator.devices.registry import Devices, build_devices, connect_and_check
from orchestrator.errors import PyrosError
from orchestrator.runtime import Runtime

CHECK_ALT_DEG = 88.0  # near the zenith: above any horizon, inside the simulated catalogue
POINTING_TOLERANCE_DEG = 0.1
EXPOSURE_S = 1.0


@dataclass(frozen=True)
class StepResult:
    role: str
    step: str
    ok: bool
    duration_s: float
    detail: str = ""


@dataclass(frozen=True)
class Timeouts:
    slew_s: float = 180.0
    dome_s: float = 120.0
    filter_s: float = 60.0
    focus_s: float = 60.0
    exposure_extra_s: float = 60.0  # readout and download beyond the exposure itself


class SelfTest:
    def __init__(
        self, runtime: Runtime, status: StatusSink | None = None, timeouts: Timeouts = Timeouts()
    ):
        self.runtime = runtime
        self.status = status
        self.timeouts = timeouts
        self.results: list[StepResult] = []
        self.ok_roles: set[str] = set()
        self.target: Any = None  # where the mount was sent

    def step(self, role: str, name: str, action: Callable[[], str | None]) -> bool:
        started = time.monotonic()
        try:
            detail = action() or ""
            ok = True
        except PyrosError as exc:
            ok, detail = False, str(exc)
        except Exception as exc:  # noqa: BLE001 - the table must always be printed
            ok, detail = False, short_reason(exc)
        self.results.append(StepResult(role, name, ok, time.monotonic() - started, detail))
        return ok

    def run(self) -> list[StepResult]:
        config = self.runtime.config
        devices = build_devices(config, self.runtime.clock, self.status, connect=False)
        try:
            for role in devices.roles():
                device = devices.get(role)
                if self.step(role, "connect", lambda d=device: self._connect(d)):
                    self.ok_roles.add(role)
            self._mount(devices)
            self._dome(devices)
            for role in self._roles_of(devices, "filterwheel"):
                self.step(role, "move filter", lambda r=role: self._filter(devices.get(r)))
            for role in self._roles_of(devices, "focuser"):
                self.step(role, "move", lambda r=role: self._focus(devices.get(r)))
            for role in self._roles_of(devices, "camera"):
                self.step(role, "1 s exposure", lambda r=role: self._expose(devices, r))
            if "mount" in self.ok_roles:
                self.step("mount", "park", lambda: self._park(devices.get("mount")))
        finally:
            devices.close()
        return self.results

    def _roles_of(self, devices: Devices, kind: str) -> list[str]:
        return [r for r in devices.roles() if ROLE_KINDS[r] == kind and r in self.ok_roles]

    def _connect(self, device: Any) -> str:
        connect_and_check(device)
        return device.describe()

    def _check_target(self) -> Any:
        return from_altaz(CHECK_ALT_DEG, 180.0, self.runtime.config.site, self.runtime.clock.now())

    def _mount(self, devices: Devices) -> None:
        if "mount" not in self.ok_roles:
            return
        mount = devices.get("mount")
        if mount.is_parked():
            self.step("mount", "unpark", lambda: mount.unpark(timeout_s=self.timeouts.slew_s))
        target = self.target = self._check_target()

        def slew() -> str:
            mount.slew(target, timeout_s=self.timeouts.slew_s)
            error_deg = mount.position().separation(target).deg
            if error_deg > POINTING_TOLERANCE_DEG:
                raise PyrosError(f"mount points {error_deg:.3f} deg away from the target")
            return f"to RA {target.ra.deg:.3f} Dec {target.dec.deg:.3f}, error {error_deg:.4f} deg"

        self.step("mount", "slew", slew)

    def _dome(self, devices: Devices) -> None:
        if "dome" not in self.ok_roles:
            return
        dome = devices.get("dome")
        if CAN_DOME_AZIMUTH in dome.capabilities():
            self.step("dome", "follow the mount", lambda: self._follow(devices, dome))
        t = self.timeouts.dome_s
        self.step("dome", "open shutter", lambda: dome.open_shutter(timeout_s=t))
        self.step("dome", "close shutter", lambda: dome.close_shutter(timeout_s=t))

    def _follow(self, devices: Devices, dome: Any) -> str:
        pointing = devices.get("mount").position() if "mount" in self.ok_roles else None
        az_deg = 180.0
        if pointing is not None:
            az_deg = altaz(pointing, self.runtime.config.site, self.runtime.clock.now()).az.deg
        dome.slew_to_azimuth(az_deg, timeout_s=self.timeouts.dome_s)
        return f"slit at azimuth {dome.azimuth_deg():.1f} deg"

    def _filter(self, wheel: Any) -> str:
        names = wheel.filter_names()
        current = wheel.current_filter()
        wanted = next((n for n in names if n != current), names[0])
        wheel.move_to(wanted, timeout_s=self.timeouts.filter_s)
        now = wheel.current_filter()
        if now != wanted:
            raise PyrosError(f"wheel reports {now!r} after moving to {wanted!r}")
        return f"{current} -> {wanted}"

    def _focus(self, focuser: Any) -> str:
        start = focuser.position()
        step = 100 if start < 100 else -100
        for goal in (start + step, start):
            focuser.move_to(goal, timeout_s=self.timeouts.focus_s)
            if focuser.position() != goal:
                raise PyrosError(f"focuser at {focuser.position()} after moving to {goal}")
        return f"{start} -> {start + step} -> {start}"

    def _expose(self, devices: Devices, role: str) -> str:
        from orchestrator.observer.fits import Exposure, save_image

        camera = devices.get(role)
        channel = role.removeprefix("camera_").upper()
        wheel_role = f"filterwheel_{channel.lower()}"
        filter_name = (
            devices.get(wheel_role).current_filter() if wheel_role in self.ok_roles else None
        )
        mount = devices.get("mount") if "mount" in self.ok_roles else None
        date_obs = self.runtime.clock.now()
        camera.start_exposure(EXPOSURE_S, True)
        camera.wait_exposure(timeout_s=EXPOSURE_S + self.timeouts.exposure_extra_s)
        data = camera.image()
        bin_x, bin_y = camera.binning()
        exposure = Exposure(
            channel=channel,
            image_type="light",
            date_obs=date_obs,
            exposure_s=EXPOSURE_S,
            instrument=camera.describe(),
            telescope=mount.describe() if mount else "",
            filter_name=filter_name,
            object_name="devices check",
            target=self.target if mount else None,
            mount_position=mount.position() if mount else None,
            ccd_temp_c=camera.ccd_temperature_c(),
            bin_x=bin_x,
            bin_y=bin_y,
            gain=camera.gain(),
        )
        row = save_image(self.runtime, data, exposure)
        return f"{data.shape[1]}x{data.shape[0]} -> {row.path} (image #{row.id})"

    def _park(self, mount: Any) -> None:
        mount.park(timeout_s=self.timeouts.slew_s)


def format_results(results: list[StepResult]) -> str:
    """The pass/fail table printed by `pyros devices check`."""
    lines = [f"{'role':<16} {'step':<18} {'result':<6} {'time':>8}  detail"]
    for r in results:
        verdict = "PASS" if r.ok else "FAIL"
        lines.append(f"{r.role:<16} {r.step:<18} {verdict:<6} {r.duration_s:>7.2f}s  {r.detail}")
    failed = sum(not r.ok for r in results)
    lines.append(f"{len(results) - failed} passed, {failed} failed")
    return "\n".join(lines)
