"""One simulated night, made once per session with the real alpaca-simulators camera.

`sim_frames_night` takes 3 bias, 3 darks (0.1 s), 3 flats (synthetic: the simulator renders
no twilight sky) and 3 light frames of a field near the zenith, 256² (1024² binned 4x4),
through the project's FITS writer. `load_night(runtime, night)` copies them into a test's
runtime with their Image rows.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from orchestrator import db
from orchestrator.clock import ManualClock
from orchestrator.config import parse_config
from orchestrator.model import Image
from orchestrator.runtime import Runtime
from tests.device_peers import config_text
from tests.orchestrator.pipeline import sim_frames as sf

START = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)
LIGHT_S = 0.1  # 1 s saturates the binned stars of the simulator's sky


@dataclass
class Night:
    images_dir: Path
    catalog: Path
    rows: list[Image] = field(default_factory=list)
    target_ra_deg: float = 0.0
    target_dec_deg: float = 0.0


def pipeline_runtime(tmp_path: Path, url: str, catalog: Path, **pipeline) -> Runtime:
    """A migrated runtime on the default config (no devices), the simulator's catalogue."""
    config = parse_config(config_text(""), tmp_path)
    settings = {"catalog_path": catalog, "solver": "builtin", **pipeline}
    config = config.model_copy(
        update={
            "database": config.database.model_copy(update={"url": url}),
            "pipeline": config.pipeline.model_copy(update=settings),
        }
    )
    rt = Runtime(config, ManualClock(START))
    db.upgrade(rt.engine)
    return rt


@pytest.fixture(scope="session")
def sim_night(alpaca_simulator, tmp_path_factory) -> Night:
    folder = tmp_path_factory.mktemp("sim-night")
    catalog = alpaca_simulator.folder / "gaia_sources.db"
    toml = sf.sim_config_toml(alpaca_simulator.address)
    config = parse_config(toml, folder)
    config = config.model_copy(
        update={"database": config.database.model_copy(update={"url": f"sqlite:///{folder}/s.db"})}
    )
    rt = Runtime(config, ManualClock(START))
    db.upgrade(rt.engine)
    devices = sf.connect(rt)
    try:
        mount = devices.get("mount")
        if mount.is_parked():
            mount.unpark(30)
        mount.set_tracking(True)
        target = sf.zenith_target(rt)
        mount.slew(target, 60)
        sf.expose(rt, devices, "bias", 0.0, n=3)
        sf.expose(rt, devices, "dark", LIGHT_S, n=3)
        sf.synthetic_flats(rt, 3, "NONE")
        sf.expose(rt, devices, "light", LIGHT_S, target=target, n=3, filter_name=None)
    finally:
        devices.close()
    with rt.sessions() as session:
        rows = list(session.scalars(select(Image).order_by(Image.id)))
        for row in rows:
            session.expunge(row)
    rt.engine.dispose()
    return Night(config.folders.images, catalog, rows, target.ra.deg, target.dec.deg)


def load_night(runtime: Runtime, night: Night, types=("bias", "dark", "flat", "light")) -> list:
    """Copy the night's files under the runtime's images folder and store their Image rows."""
    out = []
    with runtime.sessions.begin() as session:
        for row in night.rows:
            if row.image_type not in types:
                continue
            relative = Path(row.path).relative_to(night.images_dir)
            path = runtime.config.folders.images / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(row.path, path)
            copy = Image(
                path=str(path), image_type=row.image_type, channel=row.channel,
                date_obs=row.date_obs, exposure_s=row.exposure_s, filter_name=row.filter_name,
                object_name=row.object_name,
            )  # fmt: skip
            session.add(copy)
            session.flush()
            out.append(copy.id)
    return out


@pytest.fixture
def night_runtime(tmp_path, sim_night) -> Runtime:
    rt = pipeline_runtime(tmp_path, f"sqlite:///{tmp_path / 'pyros.db'}", sim_night.catalog)
    yield rt
    rt.engine.dispose()


def config_file(runtime, tmp_path: Path) -> Path:
    """The runtime's settings as a TOML file for `pyros --config`."""
    cfg = runtime.config
    path = tmp_path / "pyros.toml"
    text = (
        Path(__file__).resolve().parents[3] / "orchestrator/resources/default_config.toml"
    ).read_text()
    text = text.replace('url = "sqlite:///var/pyros.db"', f'url = "{cfg.database.url}"')
    text = text.replace('images = "var/images"', f'images = "{cfg.folders.images}"')
    text = text.replace('solver = "auto"', 'solver = "builtin"')
    text = text.replace("# catalog_path =", f'catalog_path = "{cfg.pipeline.catalog_path}"\n#')
    path.write_text(text)
    return path
