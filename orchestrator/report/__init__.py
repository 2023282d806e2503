"""The night report: what one night did (states, weather, schedule, sequences, images,
alerts, calibrations, quota, faults, efficiency) as one self-contained HTML page and JSON.

`write_night_report(runtime, night, out_dir)` writes both; `pyros report` rebuilds them, and
the majordome writes them after every night. `text.report_text` is the short text summary.
"""

from orchestrator.report.collect import night_facts
from orchestrator.report.nightly import last_night, write_after_night, write_night_report

__all__ = ["last_night", "night_facts", "write_after_night", "write_night_report"]
