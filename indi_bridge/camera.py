"""INDI CCD adapter: frame type, binning, cooler, gain, exposures, the image from its BLOB.

Properties: CCD_FRAME_TYPE FRAME_LIGHT/FRAME_DARK; CCD_EXPOSURE CCD_EXPOSURE_VALUE (s, Busy
while exposing); the image arrives as BLOB CCD1 (FITS) once BLOBs are enabled with
setBLOBMode(B_ALSO) — they are off by default; CCD_BINNING HOR_BIN/VER_BIN; CCD_TEMPERATURE
CCD_TEMPERATURE_VALUE; CCD_COOLER COOLER_ON/OFF; CCD_GAIN GAIN; CCD_ABORT_EXPOSURE ABORT.
"""

from __future__ import annotations

import io

import numpy as np
import PyIndi
from astropy.io import fits

from indi_bridge.base import IndiDevice
from orchestrator.devices import ports
from orchestrator.devices.errors import DeviceError
from orchestrator.devices.waiting import poll_until

EXPOSURE = "CCD_EXPOSURE"


class IndiCamera(IndiDevice):
    kind = "camera"
    key_properties = (("number", EXPOSURE), ("switch", "CCD_FRAME_TYPE"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._blob_count_at_start: int | None = None

    def after_connect(self) -> None:
        self.client.setBLOBMode(PyIndi.B_ALSO, self.device_name, None)

    def capabilities(self) -> frozenset[str]:
        found = set()
        frame_types = {w.getName() for w in self.props.get("switch", "CCD_FRAME_TYPE")}
        if "FRAME_DARK" in frame_types:
            found.add(ports.CAN_DARK)
        if self.props.has("number", "CCD_BINNING"):
            found.add(ports.CAN_BIN)
        if self.props.has("number", "CCD_TEMPERATURE"):
            found.add(ports.CAN_COOL)
        return frozenset(found)

    def set_cooler(self, on: bool, target_c: float | None = None) -> None:
        if target_c is not None:
            self.props.set_numbers("CCD_TEMPERATURE", {"CCD_TEMPERATURE_VALUE": target_c})
        if self.props.has("switch", "CCD_COOLER"):
            self.props.set_switch("CCD_COOLER", "COOLER_ON" if on else "COOLER_OFF")

    def ccd_temperature_c(self) -> float | None:
        if not self.props.has("number", "CCD_TEMPERATURE"):
            return None
        return self.props.numbers("CCD_TEMPERATURE")["CCD_TEMPERATURE_VALUE"]

    def set_binning(self, bin_x: int, bin_y: int) -> None:
        self.props.set_numbers("CCD_BINNING", {"HOR_BIN": bin_x, "VER_BIN": bin_y})
        self.props.wait_idle(
            "number",
            "CCD_BINNING",
            self.config.timeout_s,
            "set binning",
            lambda: self.binning() == (bin_x, bin_y),
        )

    def binning(self) -> tuple[int, int]:
        values = self.props.numbers("CCD_BINNING")
        return int(values["HOR_BIN"]), int(values["VER_BIN"])

    def set_gain(self, gain: float) -> None:
        self.props.set_numbers("CCD_GAIN", {"GAIN": gain})
        # Wait for the driver's answer, else a read right after sees the previous gain.
        self.props.wait_idle(
            "number", "CCD_GAIN", self.config.timeout_s, "set gain", lambda: self.gain() == gain
        )

    def gain(self) -> float | None:
        if not self.props.has("number", "CCD_GAIN"):
            return None
        return self.props.numbers("CCD_GAIN")["GAIN"]

    def start_exposure(self, duration_s: float, light: bool) -> None:
        if self.props.state("number", EXPOSURE) == PyIndi.IPS_BUSY:
            raise DeviceError(self.role, "expose", "an exposure is already running")
        frame = "FRAME_LIGHT" if light else "FRAME_DARK"
        self.props.switch_to("CCD_FRAME_TYPE", frame, self.config.timeout_s, "frame type")
        self._blob_count_at_start = self.client.blob(self.device_name)[0]
        self.props.set_numbers(EXPOSURE, {"CCD_EXPOSURE_VALUE": duration_s})

    def wait_exposure(self, timeout_s: float) -> None:
        if self._blob_count_at_start is None:
            raise DeviceError(self.role, "expose", "no exposure was started")
        start = self._blob_count_at_start

        def arrived() -> bool:
            if self.props.state("number", EXPOSURE) == PyIndi.IPS_ALERT:
                raise DeviceError(self.role, "expose", "INDI CCD_EXPOSURE went to Alert")
            return self.client.blob(self.device_name)[0] > start

        poll_until(arrived, timeout_s, self.role, "expose", 0.05)

    def image(self) -> np.ndarray:
        _, payload, fmt = self.client.blob(self.device_name)
        if not payload:
            raise DeviceError(self.role, "read image", "no image received")
        if "fits" not in fmt.lower():
            raise DeviceError(self.role, "read image", f"image format {fmt!r} is not FITS")
        with fits.open(io.BytesIO(payload)) as hdul:
            return np.array(hdul[0].data)

    def abort_exposure(self) -> None:
        self.props.set_switch("CCD_ABORT_EXPOSURE", "ABORT")
        poll_until(
            lambda: self.props.state("number", EXPOSURE) != PyIndi.IPS_BUSY,
            self.config.timeout_s,
            self.role,
            "abort exposure",
        )
