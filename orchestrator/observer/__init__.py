"""Sequence execution (the observer), the FITS writer and the calibration takers.

The majordome calls `Observer.execute()` for each scheduled sequence, `Observer.abort()` from
its safety reaction, and `recover_interrupted()` when the orchestrator starts.
"""

from orchestrator.observer.execute import ExecutionResult, Observer, ObserverBusy
from orchestrator.observer.progress import CAUSES, recover_interrupted
from orchestrator.observer.timing import replan_trigger, schedule_offset_s

__all__ = [
    "CAUSES",
    "ExecutionResult",
    "Observer",
    "ObserverBusy",
    "recover_interrupted",
    "replan_trigger",
    "schedule_offset_s",
]
