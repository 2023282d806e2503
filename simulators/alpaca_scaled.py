"""alpaca-simulators on an accelerated clock: `python -m simulators.alpaca_scaled --time-scale N`.

The package runs in real time; a simulated night at speed N needs its devices N times faster.
Before its server starts, this sets the camera's waits (exposure, readout) and the dome's move
time to 1/N of their real length; the mount's slew rate is scaled in the YAML by
`alpaca_sim.prepare(time_scale=N)`. An exposure still asks for, and is rendered with, its nominal
time (star fluxes, trails, the FITS EXPTIME), so images look like the nominal exposure.
Tied to alpaca-simulators 1.3.2 (pinned): it patches two module attributes of that version.
"""

from __future__ import annotations

import asyncio
import os
import sys
import types


def scaled_asyncio(time_scale: float) -> types.ModuleType:
    """The asyncio module as the camera sees it: everything as is, but `sleep` 1/N as long."""
    shim = types.ModuleType("asyncio_scaled")
    shim.__dict__.update(asyncio.__dict__)

    def sleep(delay: float, *args, **kwargs):
        return asyncio.sleep(max(0.0, delay) / time_scale, *args, **kwargs)

    shim.sleep = sleep
    return shim


def apply_time_scale(time_scale: float) -> None:
    """Patch the simulator's camera and dome to run `time_scale` times faster."""
    from alpaca_simulators.api import camera, dome

    if time_scale <= 0:
        raise ValueError("time scale must be > 0")
    camera.asyncio = scaled_asyncio(time_scale)
    dome._SLEW_DURATION_SECONDS = dome._SLEW_DURATION_SECONDS / time_scale


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) < 2 or args[0] != "--time-scale":
        raise SystemExit("usage: python -m simulators.alpaca_scaled --time-scale N [args...]")
    rest = args[2:]
    if "--config" in rest:  # its state module reads this at import: set it before patching
        os.environ["ASTRA_SIMULATORS_CONFIG"] = rest[rest.index("--config") + 1]
    apply_time_scale(float(args[1]))
    from alpaca_simulators.run_simulator import main as run

    sys.argv = ["alpaca-simulators", *rest]
    run()


if __name__ == "__main__":
    main()
