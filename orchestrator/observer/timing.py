"""Did an execution end on schedule? The majordome re-plans the rest of the night when not.

A sequence that ends early leaves a gap, one that ends late pushes the next ones, one that
fails leaves its slot empty: each gives the planner's `replan()` a trigger naming why.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from orchestrator.model import Schedule, ScheduleEntry
from orchestrator.observer.execute import ExecutionResult
from orchestrator.runtime import Runtime


def schedule_offset_s(runtime: Runtime, sequence_id: int, ended: datetime) -> float | None:
    """Seconds between `ended` and the sequence's end in the latest schedule that holds it
    (positive: late, negative: early); None when no schedule holds it."""
    with runtime.sessions() as session:
        planned_end = session.scalar(
            select(ScheduleEntry.end)
            .join(Schedule, ScheduleEntry.schedule_id == Schedule.id)
            .where(ScheduleEntry.sequence_id == sequence_id)
            .order_by(Schedule.created.desc(), Schedule.id.desc())
            .limit(1)
        )
    return None if planned_end is None else (ended - planned_end).total_seconds()


def replan_trigger(runtime: Runtime, result: ExecutionResult, ended: datetime) -> str | None:
    """The `replan(trigger=...)` an ended execution calls for, or None when it was on time
    (within [observer] replan_tolerance_s of its scheduled end)."""
    if result.status != "executed":
        return f"sequence failed: {result.cause}"[:32]
    offset_s = schedule_offset_s(runtime, result.sequence_id, ended)
    tolerance_s = runtime.config.observer.replan_tolerance_s
    if offset_s is None or abs(offset_s) <= tolerance_s:
        return None
    return "sequence ended late" if offset_s > 0 else "sequence ended early"
