"""The `pyros pipeline` process: take new images from the queue and reduce them.

Calibration frames mark their night as needing masters; masters are built before the next
science frame (or when the queue is empty). Science frames are reduced (reduce.py) and their
quality stored; an alert's frame refreshes that alert's error-box report. Alert images are
claimed first. A heartbeat (`pipeline`) is written every loop, so the watchdog sees a hang.
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from orchestrator.jobs import upsert_beat
from orchestrator.model import Alert, ErrorBoxReport, Image, MasterFrame, Sequence
from orchestrator.observer.fits import night_of
from orchestrator.pipeline import queue
from orchestrator.pipeline.catalog import catalog_path
from orchestrator.pipeline.errorbox import analyse, gcn_text
from orchestrator.pipeline.masters import CALIBRATION_TYPES, build_masters
from orchestrator.pipeline.reduce import make_solver, reduce_frame
from orchestrator.runtime import Runtime

log = logging.getLogger(__name__)
PROCESS = "pipeline"


class PipelineService:
    def __init__(self, runtime: Runtime, worker: str = PROCESS):
        self.runtime = runtime
        self.worker = worker
        self.solver = make_solver(runtime)
        self.nights_needing_masters: set[str] = set()

    def start(self) -> None:
        """Put back what a previous run of this worker had claimed; find nights without
        masters (their calibration frames were taken before a restart)."""
        released = queue.release_stale(self.runtime, self.worker)
        if released:
            log.info("pipeline: %d interrupted image(s) back in the queue", released)
        site = self.runtime.config.site
        with self.runtime.sessions() as session:
            done = session.execute(
                select(Image.date_obs).where(
                    Image.image_type.in_(CALIBRATION_TYPES), Image.pipeline_state == queue.DONE
                )
            ).all()
            with_masters = set(session.scalars(select(MasterFrame.night)))
        self.nights_needing_masters = {night_of(d, site) for (d,) in done} - with_masters

    def step(self) -> bool:
        """Process one image; False when the queue was empty."""
        image = queue.claim_next(self.runtime, self.worker)
        if image is None:
            self.build_pending_masters()
            return False
        if image.image_type in CALIBRATION_TYPES:
            self.nights_needing_masters.add(night_of(image.date_obs, self.runtime.config.site))
            queue.finish(self.runtime, image.id, True, "calibration frame (for the masters)")
            return True
        self.build_pending_masters()
        result = reduce_frame(self.runtime, Path(image.path), self.solver)
        queue.finish(
            self.runtime, image.id, result.ok, "; ".join(result.notes),
            **(result.quality() if result.ok else {}),
        )  # fmt: skip
        log.info(
            "pipeline: image %d %s in %.2f s%s", image.id, "done" if result.ok else "FAILED",
            result.duration_s, f" ({'; '.join(result.notes)})" if result.notes else "",
        )  # fmt: skip
        alert_id = alert_of(self.runtime, image)
        if alert_id is not None:
            store_alert_report(self.runtime, alert_id)
        return True

    def build_pending_masters(self) -> None:
        for night in sorted(self.nights_needing_masters):
            try:
                built, notes = build_masters(self.runtime, night)
                for note in notes:
                    log.warning("masters of %s: %s", night, note)
                log.info("masters of %s: %d built", night, len(built))
            except Exception:
                log.exception("masters of %s failed", night)
        self.nights_needing_masters.clear()

    def beat(self, error: str = "") -> None:
        with self.runtime.sessions.begin() as session:
            upsert_beat(
                session, PROCESS, PROCESS, self.runtime.config.pipeline.poll_period_s,
                self.runtime.clock.now(), error,
            )  # fmt: skip

    def run(self, stop: threading.Event) -> None:
        self.start()
        period_s = self.runtime.config.pipeline.poll_period_s
        while not stop.is_set():
            error = ""
            busy = False
            try:
                busy = self.step()
            except Exception as exc:  # the database was away: log, beat the error, go on
                log.exception("pipeline step")
                error = f"{type(exc).__name__}: {exc}"[:200]
            try:
                self.beat(error)
            except Exception:
                log.exception("pipeline heartbeat")
            if not busy:
                stop.wait(period_s)


def alert_of(runtime: Runtime, image: Image) -> int | None:
    """The alert whose follow-up request took this image, if any."""
    if image.sequence_id is None:
        return None
    with runtime.sessions() as session:
        return session.scalar(
            select(Alert.id)
            .join(Sequence, Sequence.request_id == Alert.request_id)
            .where(Sequence.id == image.sequence_id)
            .order_by(Alert.id.desc())
            .limit(1)
        )


def alert_images(runtime: Runtime, alert_id: int) -> list[Image]:
    with runtime.sessions() as session:
        rows = list(
            session.scalars(
                select(Image)
                .join(Sequence, Sequence.id == Image.sequence_id)
                .join(Alert, Alert.request_id == Sequence.request_id)
                .where(Alert.id == alert_id, Image.image_type == "light")
                .order_by(Image.date_obs)
            )
        )
        for row in rows:
            session.expunge(row)
    return rows


def store_report(
    runtime: Runtime,
    images: list[Image],
    ra_deg: float,
    dec_deg: float,
    radius_deg: float,
    trigger_time: datetime | None,
    event: str,
    alert_id: int | None = None,
) -> ErrorBoxReport:
    """Analyse these images' calibrated frames around the circle; store and return the report."""
    paths, notes, missing = [], {}, []
    for image in images:
        if image.calibrated_path:
            paths.append(Path(image.calibrated_path))
            notes[image.calibrated_path] = image.pipeline_note or ""
        else:
            missing.append(f"{Path(image.path).name}: {image.pipeline_note or 'not reduced yet'}")
    report = analyse(
        paths, ra_deg, dec_deg, radius_deg, catalog_path(runtime.config), trigger_time, notes
    )
    report.not_done = missing + report.not_done
    _add_stacks(runtime, report, paths, ra_deg, dec_deg, radius_deg, trigger_time)
    text = gcn_text(report, runtime.config.site.name, event)
    with runtime.sessions.begin() as session:
        row = ErrorBoxReport(
            alert_id=alert_id,
            created=runtime.clock.now(),
            ra_deg=ra_deg,
            dec_deg=dec_deg,
            radius_deg=radius_deg,
            n_images=len(images),
            n_candidates=len(report.candidates),
            text=text,
            details=json.dumps(report.as_dict()),
        )
        session.add(row)
        session.flush()
        session.expunge(row)
    return row


def _add_stacks(runtime, report, paths, ra_deg, dec_deg, radius_deg, trigger_time) -> None:
    """No candidate and every single frame shallower than the configured limit: stack each
    filter's frames and analyse the stack too (its limit is deeper by ~1.25 log10 N)."""
    from astropy.io import fits

    from orchestrator.pipeline.stack import stack

    settings = runtime.config.pipeline
    limits = [f.limiting_mag for f in report.frames if f.limiting_mag is not None]
    if report.candidates or not limits or max(limits) >= settings.stack_if_limit_brighter_than_mag:
        return
    by_filter: dict[str, list[Path]] = {}
    for path in paths:
        if path.is_file():
            by_filter.setdefault(str(fits.getval(path, "FILTER", default="NONE")), []).append(path)
    for group in by_filter.values():
        if len(group) < 2:
            continue
        try:
            stacked = stack(group, catalog_path(runtime.config), settings.detect_sigma)
        except Exception as exc:  # a stack never stops the report
            log.exception("stacking")
            report.not_done.append(f"stack of {len(group)} frames failed: {exc}")
            continue
        if stacked is None:
            continue
        extra = analyse([stacked], ra_deg, dec_deg, radius_deg, catalog_path(runtime.config),
                        trigger_time)  # fmt: skip
        report.frames += extra.frames
        report.sources += extra.sources
        report.candidates += extra.candidates
        report.not_done += extra.not_done


def store_alert_report(
    runtime: Runtime, alert_id: int, radius_deg: float | None = None
) -> ErrorBoxReport | None:
    """Refresh an alert's report from all its images; None when the alert has no position."""
    with runtime.sessions() as session:
        alert = session.get(Alert, alert_id)
        if alert is None or alert.ra_deg is None or alert.dec_deg is None:
            return None
        session.expunge(alert)
    radius = radius_deg or alert.error_radius_deg or 0.1
    event = f"{alert.mission} {alert.notice_type} ({alert.ivorn})"
    return store_report(
        runtime, alert_images(runtime, alert_id), alert.ra_deg, alert.dec_deg, radius,
        alert.event_time, event, alert_id,
    )  # fmt: skip


def latest_report(runtime: Runtime, alert_id: int) -> ErrorBoxReport | None:
    """For `pyros alerts show`, the web alert page and the night report."""
    with runtime.sessions() as session:
        row = session.scalar(
            select(ErrorBoxReport)
            .where(ErrorBoxReport.alert_id == alert_id)
            .order_by(ErrorBoxReport.id.desc())
            .limit(1)
        )
        if row is not None:
            session.expunge(row)
        return row
