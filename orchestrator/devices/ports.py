"""Device ports: the small interfaces the orchestrator drives hardware through.

One capability per interface, as in pyobs-core's `ITelescope`/`ICamera`; `alpaca_devices` and
`indi_bridge` implement them. Angles are degrees (RA in degrees too), times seconds, temperatures
Celsius. Long actions come in two halves (`start_*` returns promptly, `wait_*` blocks with a
timeout) plus a convenience that does both; every method may raise `DeviceError`.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    import numpy as np
    from astropy.coordinates import SkyCoord


class ShutterState(enum.Enum):
    """ASCOM ShutterState values (0 open ... 4 error)."""

    OPEN = 0
    CLOSED = 1
    OPENING = 2
    CLOSING = 3
    ERROR = 4


# Capabilities a device reports (`capabilities()`), checked against what its role needs.
CAN_SLEW = "slew"
CAN_PARK = "park"
CAN_TRACK = "tracking"
CAN_SHUTTER = "shutter"
CAN_DOME_AZIMUTH = "dome_azimuth"
CAN_DARK = "dark"  # the camera can take a frame with its shutter closed
CAN_COOL = "cooler"
CAN_BIN = "binning"
CAN_FILTERS = "filters"
CAN_ABSOLUTE_FOCUS = "absolute_focus"


@runtime_checkable
class Device(Protocol):
    """What every device does: connect, say what it can, and who it is."""

    role: str

    def connect(self) -> None: ...

    def disconnect(self) -> None: ...

    def is_connected(self) -> bool: ...

    def capabilities(self) -> frozenset[str]: ...

    def describe(self) -> str:
        """A short human name: driver and address."""
        ...


@runtime_checkable
class Telescope(Device, Protocol):
    def start_slew(self, target: SkyCoord) -> None:
        """Start a slew to ICRS `target` and return at once (tracking is switched on)."""
        ...

    def wait_slew(self, timeout_s: float) -> None:
        """Block until the slew ends; DeviceTimeout after `timeout_s`."""
        ...

    def slew(self, target: SkyCoord, timeout_s: float) -> None:
        """Start a slew and wait for it."""
        ...

    def is_slewing(self) -> bool: ...

    def position(self) -> SkyCoord:
        """Where the mount points now (ICRS)."""
        ...

    def set_tracking(self, on: bool) -> None: ...

    def is_tracking(self) -> bool: ...

    def park(self, timeout_s: float) -> None: ...

    def unpark(self, timeout_s: float) -> None: ...

    def is_parked(self) -> bool: ...

    def abort(self) -> None: ...


@runtime_checkable
class Dome(Device, Protocol):
    def open_shutter(self, timeout_s: float) -> None: ...

    def close_shutter(self, timeout_s: float) -> None: ...

    def shutter_state(self) -> ShutterState: ...

    def azimuth_deg(self) -> float: ...

    def slew_to_azimuth(self, azimuth_deg: float, timeout_s: float) -> None:
        """Turn the slit to `azimuth_deg`; how the dome follows the telescope."""
        ...

    def is_slewing(self) -> bool: ...

    def park(self, timeout_s: float) -> None: ...

    def abort(self) -> None: ...


@runtime_checkable
class Camera(Device, Protocol):
    def set_cooler(self, on: bool, target_c: float | None = None) -> None: ...

    def ccd_temperature_c(self) -> float | None: ...

    def set_binning(self, bin_x: int, bin_y: int) -> None: ...

    def binning(self) -> tuple[int, int]: ...

    def set_gain(self, gain: float) -> None: ...

    def gain(self) -> float | None: ...

    def start_exposure(self, duration_s: float, light: bool) -> None:
        """Open (light) or keep closed (dark) the shutter for `duration_s`; returns at once."""
        ...

    def wait_exposure(self, timeout_s: float) -> None:
        """Block until the image is ready to read; DeviceTimeout after `timeout_s`."""
        ...

    def image(self) -> np.ndarray:
        """The last image as a 2-D array indexed [y, x]."""
        ...

    def abort_exposure(self) -> None: ...


@runtime_checkable
class FilterWheel(Device, Protocol):
    def filter_names(self) -> tuple[str, ...]: ...

    def current_filter(self) -> str | None: ...

    def move_to(self, name: str, timeout_s: float) -> None: ...


@runtime_checkable
class Focuser(Device, Protocol):
    def position(self) -> int: ...

    def move_to(self, position: int, timeout_s: float) -> None: ...


@runtime_checkable
class SafetyMonitor(Device, Protocol):
    def is_safe(self) -> bool: ...


@runtime_checkable
class ObservingConditions(Device, Protocol):
    def conditions(self) -> dict[str, float | None]:
        """ASCOM ObservingConditions members by lower-case name (humidity, windspeed, ...)."""
        ...


# Which port each role speaks, and what its device must be able to do.
ROLE_KINDS: dict[str, str] = {
    "mount": "telescope",
    "dome": "dome",
    "camera_vis": "camera",
    "camera_nir": "camera",
    "filterwheel_vis": "filterwheel",
    "filterwheel_nir": "filterwheel",
    "focuser": "focuser",
    "safety_monitor": "safetymonitor",
    "observing_conditions": "observingconditions",
}
KIND_PORTS: dict[str, type] = {
    "telescope": Telescope,
    "dome": Dome,
    "camera": Camera,
    "filterwheel": FilterWheel,
    "focuser": Focuser,
    "safetymonitor": SafetyMonitor,
    "observingconditions": ObservingConditions,
}
KIND_NEEDS: dict[str, frozenset[str]] = {
    "telescope": frozenset({CAN_SLEW, CAN_PARK, CAN_TRACK}),
    "dome": frozenset({CAN_SHUTTER}),
    "camera": frozenset({CAN_DARK, CAN_BIN}),
    "filterwheel": frozenset({CAN_FILTERS}),
    "focuser": frozenset({CAN_ABSOLUTE_FOCUS}),
    "safetymonitor": frozenset(),
    "observingconditions": frozenset(),
}
