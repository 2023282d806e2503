"""An alert's newest error-box report as text lines (for `pyros alerts show`): the GCN-style
text, then its candidates and per-frame upper limits; or, when there is none, why not.
"""

from __future__ import annotations

import json
from pathlib import Path

from orchestrator.model import Alert
from orchestrator.pipeline import queue
from orchestrator.pipeline.service import alert_images, latest_report
from orchestrator.runtime import Runtime


def _why_none(runtime: Runtime, alert: Alert) -> str:
    if alert.ra_deg is None or alert.dec_deg is None:
        return "none: the alert has no position (no error circle to analyse)"
    if alert.request_id is None:
        return "none: no follow-up observation was requested for this alert"
    images = alert_images(runtime, alert.id)
    if not images:
        return "none yet: no image of the follow-up has been taken"
    waiting = [i for i in images if i.pipeline_state in (queue.PENDING, queue.RUNNING)]
    if waiting:
        return f"none yet: {len(waiting)} of {len(images)} image(s) waiting for the pipeline"
    return f"none: {len(images)} image(s) reduced, no report stored (is `pyros pipeline` up?)"


def report_lines(runtime: Runtime, alert: Alert) -> list[str]:
    """The section `pyros alerts show` prints under 'pipeline report'."""
    row = latest_report(runtime, alert.id)
    if row is None:
        return [f"  pipeline report: {_why_none(runtime, alert)}"]
    lines = [
        f"  pipeline report {row.id} ({row.created:%Y-%m-%d %H:%M:%S} UTC, {row.n_images} "
        f"image(s), {row.n_candidates} candidate detection(s))"
    ]
    lines += [f"    {line}" for line in row.text.splitlines()]
    details = json.loads(row.details or "{}")
    candidates = details.get("candidates", [])
    if candidates:
        lines.append("  candidates (new sources)")
        lines.append('        RA deg   Dec deg  +/-" FILTER    MAG   ERR T-T0 min IMAGE')
        for c in candidates:
            lines.append(
                f"    {c['ra_deg']:10.5f} {c['dec_deg']:9.5f} {c['position_err_arcsec']:5.1f} "
                f"{c['filter_name']:6} {_num(c['mag'], 6, 2)} {_num(c['mag_err'], 5, 2)} "
                f"{_num(c['minutes_after_trigger'], 8, 1)} {c['image']}"
            )
    frames = details.get("frames", [])
    if frames:
        lines.append("  frames (5-sigma upper limits)")
        for f in frames:
            limit = "-" if f["limiting_mag"] is None else f"> {f['limiting_mag']:.2f}"
            note = f"; {f['note']}" if f["note"] else ""
            lines.append(
                f"    {Path(f['image']).name}: {f['filter_name']} {f['exposure_s']:g} s, "
                f"T-T0 {_num(f['minutes_after_trigger'], 0, 1).strip()} min, limit {limit}, "
                f"{f['n_in_circle']} source(s) in the circle{note}"
            )
    return lines


def _num(value: float | None, width: int, digits: int) -> str:
    return f"{'-':>{width}}" if value is None else f"{value:{width}.{digits}f}"
