"""When to re-plan: the orchestrator's `planner` job looks at the database for the events of
seed §5.2 (a new request or alert, weather closing or reopening, a sequence ending or going
back to the pool, a planned slot gone by unused, a new night) and calls `replan()` with the
event as trigger. Nothing happens when nothing changed. A re-plan that puts an urgent sequence
over the executing one (an alert deferred until its target rose, say) hands it to `on_urgent`,
the majordome's pre-emption, as the alerts do.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select

from orchestrator.model import (
    Request,
    Schedule,
    ScheduleEntry,
    Sequence,
    SequenceStatus,
    WeatherWatch,
)
from orchestrator.planner.service import replan
from orchestrator.status import safety_of

log = logging.getLogger(__name__)
S = SequenceStatus
DUE_SLACK = timedelta(seconds=60)  # the planner's grid step: the first start it may give
ENDED = (S.EXECUTED, S.FAILED, S.CANCELLED)


@dataclass
class ReplanTriggers:
    """Remembers the last safety verdict it saw, so a change of weather is one event."""

    runtime: object
    on_urgent: Callable[[int, str], object] | None = None  # Majordome pre-emption
    _was_safe: bool | None = field(default=None, init=False)

    def pending_trigger(self) -> str | None:
        """The reason to re-plan now, or None (it changes nothing)."""
        return self._observe()[0]

    def _observe(self) -> tuple[str | None, bool]:
        runtime = self.runtime
        now = runtime.clock.now()
        with runtime.sessions() as session:
            safety = safety_of(runtime, session.scalar(select(WeatherWatch)))
            last = session.scalar(
                select(Schedule)
                .where(Schedule.telescope == runtime.config.telescope.name)
                .order_by(Schedule.created.desc())
                .limit(1)
            )
            since = last.created if last else None
            if since is None:
                trigger = "first plan"
            elif session.scalar(select(Request.id).where(Request.submitted > since).limit(1)):
                trigger = "new request"
            elif session.scalar(
                select(Sequence.id)
                .where(Sequence.status.in_(ENDED), Sequence.status_changed > since)
                .limit(1)
            ):
                trigger = "sequence ended"
            elif session.scalar(
                select(Sequence.id)
                .where(Sequence.status == S.TO_BE_PLANNED, Sequence.status_changed > since)
                .limit(1)
            ):
                # back in the pool without a plan: recovered after a kill (the new process
                # has no ending to react to), or another telescope's claim released
                trigger = "sequence back in the pool"
            elif session.scalar(
                select(ScheduleEntry.id)
                .join(Sequence, Sequence.id == ScheduleEntry.sequence_id)
                .where(
                    ScheduleEntry.schedule_id == last.id,
                    ScheduleEntry.end < now,
                    Sequence.status == S.PLANNED,
                )
                .limit(1)
            ):
                # its slot went by unused (closed, paused, or a plan that took longer than
                # its first slots on an accelerated clock): nothing else would place it again
                trigger = "planned slot missed"
            elif last.night_end < now:
                trigger = "new night"
            else:
                trigger = None
        is_safe = safety["is_safe"]
        if self._was_safe is not None and self._was_safe != is_safe:
            trigger = "weather reopened" if is_safe else "weather closed"
        return trigger, is_safe

    def run(self) -> None:
        trigger, is_safe = self._observe()
        self._was_safe = is_safe
        if trigger is None:
            return
        not_before = None
        if not is_safe:
            # Closed: nothing can start before the gateway's continuous-safe delay has passed.
            delay_s = self.runtime.config.safety.reopen_delay_s
            not_before = self.runtime.clock.now() + timedelta(seconds=delay_s)
        outcome = replan(self.runtime, trigger, not_before)
        log.info("re-planned on %s: schedule %s", trigger, outcome.schedule_id)
        urgent = _due_over_the_running_one(outcome.result, self.runtime.clock.now())
        if urgent is not None and self.on_urgent is not None:
            log.info("urgent sequence %s placed over the executing one: pre-empting", urgent)
            self.on_urgent(int(urgent), f"re-plan ({trigger}): urgent sequence {urgent} due")


def _due_over_the_running_one(result, now) -> str | None:
    """The urgent sequence placed over the executing one, if its entry starts now (within the
    planner's one-minute grid): one placed later waits for its sky or its twilight, which the
    majordome's pre-emption does not check, so it starts from the schedule when due."""
    urgent = result.pre_empted_by
    if urgent is None:
        return None
    start = next((e.start for e in result.entries if e.id == urgent), None)
    return urgent if start is not None and start <= now + DUE_SLACK else None
