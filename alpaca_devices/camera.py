"""Alpaca Camera adapter: cooler, binning, gain, light or dark exposures, image as numpy.

ASCOM members: CoolerOn, SetCCDTemperature, CCDTemperature, BinX/BinY with NumX/NumY,
Gain, StartExposure(Duration, Light), ImageReady, CameraState (5 = Error), AbortExposure,
ImageArray. The image is fetched here as ImageBytes with a timeout (alpyca's own fetch has
none) and decoded with numpy: Dimension1 is X, so the array is transposed to [y, x].
"""

from __future__ import annotations

import numpy as np
import requests
from alpaca.camera import Camera, CameraStates

from alpaca_devices.base import AlpacaDevice, optional
from orchestrator.devices import ports
from orchestrator.devices.errors import DeviceError
from orchestrator.devices.waiting import poll_until

# ASCOM ImageArrayElementTypes -> numpy little-endian dtypes.
_ELEMENT_DTYPES = {1: "<i2", 2: "<i4", 3: "<f8", 4: "<f4", 6: "u1", 8: "<u2", 9: "<u4"}
_HEADER_BYTES = 44


def decode_imagebytes(payload: bytes) -> np.ndarray:
    """Decode an ASCOM ImageBytes answer into a [y, x] array (rank 2) or [y, x, plane]."""
    if len(payload) < _HEADER_BYTES:
        raise ValueError(f"ImageBytes answer too short ({len(payload)} bytes)")
    words = np.frombuffer(payload[:_HEADER_BYTES], dtype="<i4")
    error_number, data_start, transmission = int(words[1]), int(words[4]), int(words[6])
    rank, dim1, dim2, dim3 = (int(w) for w in words[7:11])
    if error_number:
        message = payload[data_start:].decode("utf-8", "replace")
        raise ValueError(f"ImageBytes error 0x{error_number:X}: {message}")
    dtype = _ELEMENT_DTYPES.get(transmission)
    if dtype is None:
        raise ValueError(f"unsupported ImageBytes transmission element type {transmission}")
    shape = (dim1, dim2) if rank == 2 else (dim1, dim2, dim3)
    data = np.frombuffer(payload, dtype=dtype, offset=data_start)
    if data.size != int(np.prod(shape)):
        raise ValueError(f"ImageBytes holds {data.size} pixels, header says {shape}")
    # ASCOM arrays are [x][y] with y varying fastest: transpose to the [y, x] of numpy/FITS.
    return np.ascontiguousarray(data.reshape(shape).swapaxes(0, 1))


class AlpacaCamera(AlpacaDevice):
    kind = "camera"
    client_class = Camera

    def capabilities(self) -> frozenset[str]:
        c = self.client
        found = set()
        # A dark needs the shutter closed: ASCOM StartExposure(Light=False) on a camera
        # with a shutter. A shutterless camera cannot take darks without a cover.
        if c.HasShutter:
            found.add(ports.CAN_DARK)
        if c.CanSetCCDTemperature:
            found.add(ports.CAN_COOL)
        if c.MaxBinX >= 1 and c.MaxBinY >= 1:
            found.add(ports.CAN_BIN)
        return frozenset(found)

    def set_cooler(self, on: bool, target_c: float | None = None) -> None:
        if target_c is not None:
            self.client.SetCCDTemperature = float(target_c)
        self.client.CoolerOn = on

    def ccd_temperature_c(self) -> float | None:
        return optional(lambda: float(self.client.CCDTemperature))

    def set_binning(self, bin_x: int, bin_y: int) -> None:
        c = self.client
        if bin_x > c.MaxBinX or bin_y > c.MaxBinY:
            raise DeviceError(
                self.role, "set binning", f"{bin_x}x{bin_y} exceeds {c.MaxBinX}x{c.MaxBinY}"
            )
        c.BinX, c.BinY = bin_x, bin_y
        c.StartX, c.StartY = 0, 0
        c.NumX, c.NumY = c.CameraXSize // bin_x, c.CameraYSize // bin_y

    def binning(self) -> tuple[int, int]:
        return int(self.client.BinX), int(self.client.BinY)

    def set_gain(self, gain: float) -> None:
        self.client.Gain = int(gain)

    def gain(self) -> float | None:
        return optional(lambda: float(self.client.Gain))

    def start_exposure(self, duration_s: float, light: bool) -> None:
        self.client.StartExposure(float(duration_s), bool(light))

    def wait_exposure(self, timeout_s: float) -> None:
        def ready() -> bool:
            if self.client.CameraState == CameraStates.cameraError:
                raise DeviceError(self.role, "expose", "the camera went to its Error state")
            return bool(self.client.ImageReady)

        poll_until(ready, timeout_s, self.role, "expose")

    def image(self) -> np.ndarray:
        url = f"http://{self.address}/api/v1/camera/{self.device_number}/imagearray"
        answer = requests.get(
            url,
            params={"ClientID": 1, "ClientTransactionID": 1},
            headers={"Accept": "application/imagebytes"},
            timeout=self.config.timeout_s,
        )
        answer.raise_for_status()
        if "application/imagebytes" not in answer.headers.get("content-type", ""):
            # A server without ImageBytes answers JSON: alpyca decodes it (slower).
            return np.asarray(self.client.ImageArray).T
        try:
            return decode_imagebytes(answer.content)
        except ValueError as exc:
            raise DeviceError(self.role, "read image", str(exc)) from None

    def abort_exposure(self) -> None:
        if self.client.CanAbortExposure:
            self.client.AbortExposure()
        elif self.client.CanStopExposure:
            self.client.StopExposure()
