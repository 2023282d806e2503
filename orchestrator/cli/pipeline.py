"""`pyros pipeline`: the image pipeline process, and its one-off commands.

`pyros pipeline` runs the process (what `pyros start` supervises); `masters [--night]`,
`reduce FILE...` (any FITS file, e.g. from another telescope) and `report ALERT_ID`.
"""

from __future__ import annotations

import re
import signal
import threading
from pathlib import Path

import click

from orchestrator.cli.context import CliContext, config_option


@click.group(invoke_without_command=True)
@config_option
@click.pass_context
def pipeline(ctx: click.Context) -> None:
    """Run the image pipeline process (queue of new images), or one of its commands."""
    if ctx.invoked_subcommand is not None:
        return
    from orchestrator.pipeline.service import PipelineService

    runtime = ctx.find_object(CliContext).runtime("pipeline")
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    PipelineService(runtime).run(stop)


def _night(value: str | None) -> str | None:
    if value is not None and not re.fullmatch(r"\d{8}", value):
        raise click.BadParameter(f"must be YYYYMMDD (got {value!r})", param_hint="--night")
    return value


@pipeline.command()
@config_option
@click.option("--night", default=None, help="YYYYMMDD (local date at the start of the night); "
              "default: the current (or last) night.")  # fmt: skip
@click.pass_obj
def masters(obj: CliContext, night: str | None) -> None:
    """Build the night's master bias, darks and flats from its calibration frames."""
    from datetime import timedelta

    from orchestrator.observer.fits import night_of
    from orchestrator.pipeline.masters import build_masters

    runtime = obj.runtime()
    night = _night(night) or night_of(
        runtime.clock.now() - timedelta(hours=12), runtime.config.site
    )
    built, notes = build_masters(runtime, night)
    for m in built:
        what = m.filter_name or (f"{m.exposure_s:g} s" if m.exposure_s else "")
        click.echo(f"master {m.kind:<4} {what:<8} {m.n_frames:>3} frames  {m.path}")
    for note in notes:
        click.echo(f"missing: {note}")
    if not built:
        click.echo(f"no master built for night {night}")


@pipeline.command()
@config_option
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.pass_obj
def reduce(obj: CliContext, files: tuple[Path, ...]) -> None:
    """Calibrate, extract, solve and measure FITS files (written beside as *_cal.fits)."""
    from orchestrator.pipeline.reduce import make_solver, reduce_frame

    runtime = obj.runtime()
    solver = make_solver(runtime)
    failed = 0
    for path in files:
        r = reduce_frame(runtime, path, solver)
        failed += not r.ok
        quality = (
            f'stars {r.n_stars}  FWHM {r.fwhm_arcsec}"  bkg {r.background_adu}  '
            f"ZP {r.zero_point_mag}  lim {r.limiting_mag}  WCS {r.solver or 'none'}"
        )
        click.echo(f"{path}: {'ok' if r.ok else 'FAILED'}  {quality if r.ok else ''}")
        if r.calibrated_path:
            click.echo(f"  -> {r.calibrated_path}")
        for note in r.notes:
            click.echo(f"  note: {note}")
    if failed:
        raise SystemExit(1)


@pipeline.command()
@config_option
@click.argument("alert_id", type=int)
@click.option("--radius-deg", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Error circle radius (default: the alert's).")  # fmt: skip
@click.option("--refresh", is_flag=True, help="Analyse the alert's images again now.")
@click.pass_obj
def report(obj: CliContext, alert_id: int, radius_deg: float | None, refresh: bool) -> None:
    """Print an alert's error-box report (analysing its images if there is none yet)."""
    from orchestrator.errors import PyrosError
    from orchestrator.pipeline.service import latest_report, store_alert_report

    runtime = obj.runtime()
    row = None if refresh or radius_deg else latest_report(runtime, alert_id)
    if row is None:
        row = store_alert_report(runtime, alert_id, radius_deg)
    if row is None:
        raise PyrosError(f"alert_id: no alert {alert_id} with a position")
    click.echo(row.text)


@pipeline.command()
@config_option
@click.option("--ra-deg", type=click.FloatRange(0, 360), default=None, help="Region centre.")
@click.option("--dec-deg", type=click.FloatRange(-90, 90), default=None, help="Region centre.")
@click.option("--radius-deg", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Region radius (default: the whole catalogue).")  # fmt: skip
@click.pass_obj
def index(obj: CliContext, ra_deg, dec_deg, radius_deg) -> None:
    """Build astrometry.net index files from the reference catalogue (cached)."""
    from orchestrator.errors import PyrosError
    from orchestrator.pipeline.anet_index import IndexBuildError, ensure_index
    from orchestrator.pipeline.catalog import catalog_path

    runtime = obj.runtime()
    region = None
    if radius_deg is not None:
        if ra_deg is None or dec_deg is None:
            raise click.BadParameter("needs --ra-deg and --dec-deg", param_hint="--radius-deg")
        region = (ra_deg, dec_deg, radius_deg)
    catalog = catalog_path(runtime.config)
    if not catalog.is_file():
        raise PyrosError(f"pipeline.catalog_path: no catalogue at {catalog}")
    folder = runtime.config.pipeline.astrometry_index_dir or (
        runtime.config.folders.data / "astrometry-index"
    )
    try:
        ensure_index(catalog, folder, region)
    except IndexBuildError as exc:
        raise PyrosError(f"index: {exc}") from None
    click.echo(f"astrometry.net index files in {folder}")


def register(cli: click.Group) -> None:
    cli.add_command(pipeline)
