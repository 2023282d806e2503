"""`pyros pipeline masters / reduce / report / index` through the real CLI entry point."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import select

from orchestrator.cli import cli
from orchestrator.model import MasterFrame
from tests.orchestrator.pipeline.alerts import make_alert
from tests.orchestrator.pipeline.conftest import config_file as _config_file
from tests.orchestrator.pipeline.conftest import load_night


def _pyros(config: Path, *args: str):
    return CliRunner().invoke(cli, ["--config", str(config), "pipeline", *args])


def test_masters_reduce_and_report(night_runtime, sim_night, tmp_path):
    ids = load_night(night_runtime, sim_night)
    config = _config_file(night_runtime, tmp_path)
    assert 'url = "sqlite' in config.read_text() and ids
    result = _pyros(config, "masters", "--night", "20261124")
    assert result.exit_code == 0, result.output
    assert result.output.count("master ") == 3 and "3 frames" in result.output
    with night_runtime.sessions() as session:
        assert len(list(session.scalars(select(MasterFrame)))) == 3
    lights = sorted(night_runtime.config.folders.images.rglob("*light*0.1s.fits"))
    bad = tmp_path / "bad.fits"
    bad.write_text("not FITS")
    result = _pyros(config, "reduce", str(lights[0]), str(bad))
    assert result.exit_code == 1  # one file failed
    assert f"{lights[0]}: ok  stars " in result.output and "WCS builtin" in result.output
    assert f"{bad}: FAILED" in result.output and "note: not a FITS file" in result.output
    assert lights[0].with_name(lights[0].stem + "_cal.fits").is_file()
    alert_id, _ = make_alert(night_runtime, sim_night.target_ra_deg, sim_night.target_dec_deg, 0.1)
    result = _pyros(config, "report", str(alert_id))
    assert result.exit_code == 0, result.output
    assert "SVOM ECLAIRs" in result.output and "0 frame(s)" in result.output


def test_bad_arguments_exit_2(night_runtime, tmp_path):
    config = _config_file(night_runtime, tmp_path)
    result = _pyros(config, "masters", "--night", "2026-11-24")
    assert result.exit_code == 2 and "--night" in result.output
    result = _pyros(config, "report", "999")
    assert result.exit_code == 2 and "alert_id: no alert 999" in result.output
    result = _pyros(config, "index", "--radius-deg", "1")
    assert result.exit_code == 2 and "--ra-deg" in result.output


def test_pipeline_process_reduces_new_images_and_stops_on_sigterm(
    night_runtime, sim_night, tmp_path
):
    import signal
    import subprocess
    import sys

    from orchestrator.model import Image
    from tests.helpers import stop_process, wait_for

    config = _config_file(night_runtime, tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-m", "orchestrator.cli", "--config", str(config), "pipeline"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        load_night(night_runtime, sim_night)  # images arrive while it runs

        def all_done():
            with night_runtime.sessions() as session:
                states = set(session.scalars(select(Image.pipeline_state)))
            return states == {"done"}

        wait_for(all_done, 120, 0.5, what="every image reduced by `pyros pipeline`")
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    finally:
        stop_process(proc)
    assert proc.returncode == 0
    with night_runtime.sessions() as session:
        assert len(list(session.scalars(select(MasterFrame)))) == 3
