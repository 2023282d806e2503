"""INDI telescope adapter: slews in JNow (EQUATORIAL_EOD_COORD), tracking, park, abort.

Properties (INDI standard): ON_COORD_SET=TRACK then EQUATORIAL_EOD_COORD {RA hours, DEC deg}
starts a slew that ends tracking (Busy while slewing); TELESCOPE_TRACK_STATE TRACK_ON/OFF;
TELESCOPE_PARK PARK/UNPARK; TELESCOPE_ABORT_MOTION ABORT; GEOGRAPHIC_COORD set from
config.site (LONG is 0-360 east).
"""

from __future__ import annotations

from datetime import UTC, datetime

from astropy.coordinates import SkyCoord

from indi_bridge.base import IndiDevice
from orchestrator.devices import ports
from orchestrator.devices.coords import from_jnow, to_jnow
from orchestrator.devices.errors import DeviceError

COORDS = "EQUATORIAL_EOD_COORD"
ARRIVED_DEG = 0.5  # a slew is over when not Busy and this close to the target


def _now() -> datetime:
    return datetime.now(UTC)  # the mount points in real time, whatever the injected clock says


class IndiTelescope(IndiDevice):
    kind = "telescope"
    key_properties = (("number", COORDS), ("switch", "ON_COORD_SET"))
    _target: SkyCoord | None = None  # of the slew under way

    def after_connect(self) -> None:
        if self.props.has("number", "GEOGRAPHIC_COORD"):
            self.props.set_numbers(
                "GEOGRAPHIC_COORD",
                {
                    "LAT": self.site.latitude_deg,
                    "LONG": self.site.longitude_deg % 360.0,
                    "ELEV": self.site.elevation_m,
                },
            )

    def capabilities(self) -> frozenset[str]:
        found = {ports.CAN_SLEW}
        if self.props.has("switch", "TELESCOPE_PARK"):
            found.add(ports.CAN_PARK)
        if self.props.has("switch", "TELESCOPE_TRACK_STATE"):
            found.add(ports.CAN_TRACK)
        return frozenset(found)

    def start_slew(self, target: SkyCoord) -> None:
        if self.is_parked():
            raise DeviceError(self.role, "slew", "the mount is parked: unpark it first")
        ra_deg, dec_deg = to_jnow(target, _now())
        self.props.switch_to("ON_COORD_SET", "TRACK", self.config.timeout_s, "slew")
        self._target = target
        self.props.set_numbers(COORDS, {"RA": (ra_deg / 15.0) % 24.0, "DEC": dec_deg})

    def _arrived(self) -> bool:
        # Not Busy alone is not enough: the driver's periodic position update (Ok, from
        # before it read our request) may arrive after we sent the target.
        target = self._target
        return target is None or self.position().separation(target).deg < ARRIVED_DEG

    def wait_slew(self, timeout_s: float) -> None:
        self.props.wait_idle("number", COORDS, timeout_s, "slew", self._arrived)

    def slew(self, target: SkyCoord, timeout_s: float) -> None:
        self.start_slew(target)
        self.wait_slew(timeout_s)

    def is_slewing(self) -> bool:
        import PyIndi

        return self.props.state("number", COORDS) == PyIndi.IPS_BUSY

    def position(self) -> SkyCoord:
        values = self.props.numbers(COORDS)
        return from_jnow(values["RA"] * 15.0, values["DEC"], _now())

    def set_tracking(self, on: bool) -> None:
        wanted = "TRACK_ON" if on else "TRACK_OFF"
        self.props.switch_to("TELESCOPE_TRACK_STATE", wanted, self.config.timeout_s, "track")

    def is_tracking(self) -> bool:
        return "TRACK_ON" in self.props.switches_on("TELESCOPE_TRACK_STATE")

    def _park_switch(self, wanted: str, timeout_s: float) -> None:
        self._target = None
        self.props.switch_to("TELESCOPE_PARK", wanted, timeout_s, wanted.lower())

    def park(self, timeout_s: float) -> None:
        self._park_switch("PARK", timeout_s)

    def unpark(self, timeout_s: float) -> None:
        self._park_switch("UNPARK", timeout_s)

    def is_parked(self) -> bool:
        if not self.props.has("switch", "TELESCOPE_PARK"):
            return False
        return "PARK" in self.props.switches_on("TELESCOPE_PARK")

    def abort(self) -> None:
        self._target = None  # the slew will not arrive: waiting ends when motion stops
        self.props.set_switch("TELESCOPE_ABORT_MOTION", "ABORT")
