"""The embedded Alpaca simulator: the alpaca-simulators package set up for our site.

`prepare()` writes its YAML (shipped in simulators/resources, site filled from config.site,
`tap_source` pointed at a local synthetic catalogue so light frames work offline) into the
data folder; `simulator_argv()` is the command line. `pyros simulator alpaca` runs it under
`pyros start`; the device tests start it the same way.
"""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path

import yaml

from orchestrator.config import SiteConfig
from simulators.gaia_catalog import ensure_catalog

YAML_NAME = "alpaca_simulators.yaml"
CATALOG_NAME = "gaia_sources.db"


def shipped_yaml() -> dict:
    text = resources.files("simulators.resources").joinpath(YAML_NAME).read_text()
    return yaml.safe_load(text)


def prepare(data_dir: Path, site: SiteConfig, time_scale: float = 1.0) -> Path:
    """Write the simulator's YAML (and the star catalogue if missing); return its path.

    `time_scale` > 1 (a simulated night): the mount slews that many times faster."""
    data_dir.mkdir(parents=True, exist_ok=True)
    catalog = ensure_catalog(data_dir / CATALOG_NAME, center_dec_deg=site.latitude_deg)
    settings = shipped_yaml()
    for mount in settings["devices"]["telescope"].values():
        mount["sitelatitude"] = site.latitude_deg
        mount["sitelongitude"] = site.longitude_deg  # east positive, as ASCOM
        mount["siteelevation"] = site.elevation_m
        mount["slew_rate"] = float(mount.get("slew_rate", 15.0)) * time_scale
    settings["tap_source"] = str(catalog.resolve())
    path = (data_dir / YAML_NAME).resolve()
    path.write_text(yaml.safe_dump(settings, sort_keys=False))
    return path


def simulator_argv(yaml_path: Path, host: str, port: int, time_scale: float = 1.0) -> list[str]:
    """The console script of alpaca-simulators; --config must be absolute (else it is looked
    up, and written, inside site-packages). With `time_scale` ≠ 1, our wrapper that runs its
    camera and dome that many times faster (simulators/alpaca_scaled.py)."""
    args = ["--host", host, "--port", str(port), "--config", str(yaml_path)]
    if time_scale != 1.0:
        scaled = ["-m", "simulators.alpaca_scaled", "--time-scale", f"{time_scale:g}"]
        return [sys.executable, *scaled, *args]
    script = Path(sys.executable).with_name("alpaca-simulators")
    return [str(script), *args]
