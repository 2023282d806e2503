"""astrometry.net's solve-field through the solver port, with an index built from the
simulator's own catalogue (the region of the test field only: a few seconds, once)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

from orchestrator.pipeline.anet_index import ensure_index
from orchestrator.pipeline.reduce import make_solver, reduce_frame
from orchestrator.pipeline.solve import AstrometryNetSolver, FallbackSolver
from tests.orchestrator.pipeline.conftest import load_night, pipeline_runtime


@pytest.fixture(scope="session")
def sim_index(sim_night, tmp_path_factory) -> Path:
    if shutil.which("solve-field") is None:
        pytest.fail("solve-field is not installed: run scripts/setup.sh (Debian astrometry.net)")
    folder = tmp_path_factory.mktemp("anet-index")
    region = (sim_night.target_ra_deg, sim_night.target_dec_deg, 2.0)
    ensure_index(sim_night.catalog, folder, region)
    stamp = sorted(folder.glob("*.done"))
    ensure_index(sim_night.catalog, folder, region)  # cached: nothing rebuilt
    assert sorted(folder.glob("*.done")) == stamp and len(list(folder.glob("index-*.fits"))) == 5
    return folder


def test_solve_field_solves_a_simulator_frame(tmp_path, sim_night, sim_index):
    rt = pipeline_runtime(
        tmp_path, f"sqlite:///{tmp_path / 'p.db'}", sim_night.catalog,
        solver="astrometry.net", astrometry_index_dir=sim_index,
    )  # fmt: skip
    assert isinstance(make_solver(rt), AstrometryNetSolver)
    load_night(rt, sim_night, ("light",))
    light = next(r for r in sim_night.rows if r.image_type == "light")
    path = rt.config.folders.images / Path(light.path).relative_to(sim_night.images_dir)
    result = reduce_frame(rt, path)
    assert result.solver == "astrometry.net", result.notes
    header = fits.getheader(result.calibrated_path)
    assert header["WCSSOLVR"] == "astrometry.net" and header["WCSNMAT"] >= 20
    assert header["WCSRMS"] < 5.0
    # Same sky as the built-in solver's WCS, to a fraction of a pixel at the centre.
    builtin = reduce_frame(pipeline_runtime(tmp_path / "b", f"sqlite:///{tmp_path / 'b.db'}",
                                            sim_night.catalog), path)  # fmt: skip
    a = WCS(header).all_pix2world(128, 128, 0)
    b = WCS(fits.getheader(builtin.calibrated_path)).all_pix2world(128, 128, 0)
    offset_arcsec = 3600 * np.hypot((a[0] - b[0]) * np.cos(np.radians(a[1])), a[1] - b[1])
    assert offset_arcsec < 4.0
    rt.engine.dispose()


def test_auto_uses_astrometry_net_when_the_builtin_solver_fails(tmp_path, sim_night, sim_index):
    rt = pipeline_runtime(
        tmp_path, f"sqlite:///{tmp_path / 'p.db'}", sim_night.catalog,
        solver="auto", astrometry_index_dir=sim_index,
    )  # fmt: skip
    solver = make_solver(rt)
    assert isinstance(solver, FallbackSolver)
    load_night(rt, sim_night, ("light",))
    light = next(r for r in sim_night.rows if r.image_type == "light")
    path = rt.config.folders.images / Path(light.path).relative_to(sim_night.images_dir)
    with fits.open(path, mode="update") as hdus:  # a pointing 1.5 deg off: builtin gives up
        hdus[0].header["TELDEC"] = hdus[0].header["TELDEC"] + 1.5
        hdus[0].header["DEC"] = hdus[0].header["TELDEC"]
    result = reduce_frame(rt, path, solver)
    assert result.solver == "astrometry.net", result.notes
    rt.engine.dispose()
