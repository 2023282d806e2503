"""Alpaca Telescope adapter: slews to ICRS targets, tracking, park, abort.

ASCOM members: SlewToCoordinatesAsync (RA hours, Dec deg), Slewing, Tracking, Park/Unpark,
AtPark, AbortSlew, RightAscension/Declination in the mount's EquatorialSystem (1 = JNow,
else J2000). The horizon is enforced by the orchestrator's mount guard, not here.
"""

from __future__ import annotations

from datetime import UTC, datetime

import astropy.units as u
from alpaca.exceptions import InvalidOperationException, ParkedException
from alpaca.telescope import EquatorialCoordinateType, Telescope
from astropy.coordinates import SkyCoord

from alpaca_devices.base import AlpacaDevice, optional
from orchestrator.devices import ports
from orchestrator.devices.coords import from_jnow, to_jnow
from orchestrator.devices.errors import DeviceError
from orchestrator.devices.waiting import poll_until


def _now() -> datetime:
    return datetime.now(UTC)  # the mount points in real time, whatever the injected clock says


class AlpacaTelescope(AlpacaDevice):
    kind = "telescope"
    client_class = Telescope

    _jnow_cached: bool | None = None
    _tracking_set = False  # we turned tracking on and nothing of ours turned it off since

    def connect(self) -> None:
        super().connect()
        self._jnow_cached = None  # another mount may answer at this address now
        self._tracking_set = False

    def _jnow(self) -> bool:
        # A mount's equatorial system does not change while connected: asked once, not on
        # every slew (one HTTP round trip less on an alert's way to the mount).
        if self._jnow_cached is None:
            system = optional(lambda: self.client.EquatorialSystem)
            self._jnow_cached = system == EquatorialCoordinateType.equTopocentric
        return self._jnow_cached

    def capabilities(self) -> frozenset[str]:
        c = self.client
        found = set()
        if c.CanSlewAsync:
            found.add(ports.CAN_SLEW)
        if c.CanPark and c.CanUnpark:
            found.add(ports.CAN_PARK)
        if c.CanSetTracking:
            found.add(ports.CAN_TRACK)
        return frozenset(found)

    def start_slew(self, target: SkyCoord) -> None:
        """One request (the slew) when tracking is already on, as between two sequences of a
        night: an alert's slew goes out without a round trip before it."""
        if self._jnow():
            ra_deg, dec_deg = to_jnow(target, _now())
        else:
            icrs = target.icrs
            ra_deg, dec_deg = icrs.ra.deg, icrs.dec.deg
        ra_h = (ra_deg / 15.0) % 24.0
        if not self._tracking_set:
            if self.client.AtPark:
                raise DeviceError(self.role, "slew", "the mount is parked: unpark it first")
            self.client.Tracking = True
            self._tracking_set = True
        try:
            self.client.SlewToCoordinatesAsync(ra_h, dec_deg)
        except ParkedException:
            self._tracking_set = False
            raise DeviceError(self.role, "slew", "the mount is parked: unpark it first") from None
        except InvalidOperationException:
            # ASCOM refuses a slew while not tracking: stopped behind our back (a limit,
            # another client); on again, and slew once more
            self.client.Tracking = True
            self.client.SlewToCoordinatesAsync(ra_h, dec_deg)

    def wait_slew(self, timeout_s: float) -> None:
        poll_until(lambda: not self.client.Slewing, timeout_s, self.role, "slew")

    def slew(self, target: SkyCoord, timeout_s: float) -> None:
        self.start_slew(target)
        self.wait_slew(timeout_s)

    def is_slewing(self) -> bool:
        return bool(self.client.Slewing)

    def position(self) -> SkyCoord:
        ra_deg = self.client.RightAscension * 15.0
        dec_deg = self.client.Declination
        if self._jnow():
            return from_jnow(ra_deg, dec_deg, _now())
        return SkyCoord(ra=ra_deg * u.deg, dec=dec_deg * u.deg, frame="icrs")

    def set_tracking(self, on: bool) -> None:
        self._tracking_set = False
        self.client.Tracking = on

    def is_tracking(self) -> bool:
        return bool(self.client.Tracking)

    def park(self, timeout_s: float) -> None:
        self._tracking_set = False
        self.client.Park()
        poll_until(lambda: self.client.AtPark, timeout_s, self.role, "park")

    def unpark(self, timeout_s: float) -> None:
        self._tracking_set = False
        self.client.Unpark()
        poll_until(lambda: not self.client.AtPark, timeout_s, self.role, "unpark")

    def is_parked(self) -> bool:
        return bool(self.client.AtPark)

    def abort(self) -> None:
        self._tracking_set = False  # some mounts stop tracking with the slew
        self.client.AbortSlew()
