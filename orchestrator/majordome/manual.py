"""A manual exposure (`pyros device expose`): filter, exposure, FITS file and Image row."""

from __future__ import annotations

from orchestrator.devices.errors import DeviceError

EXTRA_S = 60.0  # readout and download beyond the exposure itself


def expose(
    majordome, camera: str, filter_name: str | None, exposure_s: float, image_type: str = "light"
) -> str:
    from orchestrator.majordome.commands import Refused
    from orchestrator.observer.fits import Exposure, save_image

    devices = majordome.devices
    role, wheel_role = f"camera_{camera}", f"filterwheel_{camera}"
    if role not in devices:
        raise Refused(f"camera: no {role} is configured")
    if image_type not in ("light", "dark", "bias", "flat"):
        raise Refused(f"image_type: must be light, dark, bias or flat (got {image_type!r})")
    cam = devices.get(role)
    if filter_name:
        if wheel_role not in devices:
            raise Refused(f"filter: no {wheel_role} is configured")
        wheel = devices.get(wheel_role)
        names = wheel.filter_names()
        if filter_name not in names:
            raise Refused(f"filter: {filter_name!r} is not in {wheel_role} ({', '.join(names)})")
        wheel.move_to(filter_name, timeout_s=60.0)
    mount = devices.get("mount") if "mount" in devices else None
    date_obs = majordome.now()
    light = image_type in ("light", "flat")
    cam.start_exposure(exposure_s, light)
    cam.wait_exposure(timeout_s=exposure_s + EXTRA_S)
    data = cam.image()
    bin_x, bin_y = cam.binning()
    try:
        position = mount.position() if mount else None
    except DeviceError:
        position = None
    row = save_image(
        majordome.runtime,
        data,
        Exposure(
            channel=camera.upper(),
            image_type=image_type,
            date_obs=date_obs,
            exposure_s=exposure_s,
            instrument=cam.describe(),
            telescope=mount.describe() if mount else "",
            filter_name=filter_name,
            object_name="manual",
            target=position,
            mount_position=position,
            ccd_temp_c=cam.ccd_temperature_c(),
            bin_x=bin_x,
            bin_y=bin_y,
            gain=cam.gain(),
        ),
    )
    return f"image #{row.id} {row.path}"
