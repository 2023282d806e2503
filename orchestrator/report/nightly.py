"""Write one night's report (HTML + JSON) and the end-of-night hook that never fails the
majordome: a report that cannot be written is logged, and the night goes on.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from datetime import date, datetime, timedelta
from pathlib import Path

from orchestrator.majordome.night import current_night
from orchestrator.report.collect import night_facts
from orchestrator.report.html import render_html

log = logging.getLogger(__name__)


def _atomic_write(path: Path, text: str) -> None:
    # a reader (the web, a mail job) never sees half a report
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_night_report(runtime, night: date, out_dir: Path) -> tuple[Path, Path]:
    """Write `night-YYYY-MM-DD.html` and `.json` (the same facts) in `out_dir`; returns both."""
    facts = night_facts(runtime, night)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    html_path = out_dir / f"night-{night:%Y-%m-%d}.html"
    json_path = out_dir / f"night-{night:%Y-%m-%d}.json"
    _atomic_write(json_path, json.dumps(facts, indent=1, ensure_ascii=False) + "\n")
    _atomic_write(html_path, render_html(facts))
    return html_path, json_path


def last_night(config, now: datetime) -> date:
    """The latest night whose sunrise has passed (the one in progress does not count)."""
    times = current_night(config, now)
    if times.sunrise is not None and now >= times.sunrise:
        return times.night
    return times.night - timedelta(days=1)


def night_to_report(config, now: datetime) -> date:
    """The night in progress (from its sunset), else the last one: what an operator's `report`
    command means in the afternoon is last night, not the coming one."""
    times = current_night(config, now)
    if times.sunset is not None and now < times.sunset:
        return last_night(config, now)
    return times.night


def write_after_night(runtime, night: date) -> tuple[Path, Path] | None:
    """The end-of-night hook: write the report in folders.reports; log any failure, never raise."""
    try:
        paths = write_night_report(runtime, night, runtime.config.folders.reports)
    except Exception:  # noqa: BLE001 - a report must never stop the majordome
        log.exception("night report of %s not written", night)
        return None
    log.info("night report of %s written: %s", night, paths[0])
    return paths


def write_in_background(runtime, night: date) -> threading.Thread:
    """Run the hook in a daemon thread: plots take a second or two, the tick takes none."""
    thread = threading.Thread(
        target=write_after_night, args=(runtime, night), name=f"night-report-{night}", daemon=True
    )
    thread.start()
    return thread
