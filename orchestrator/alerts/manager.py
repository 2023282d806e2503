"""The alert pipeline: receive (parse + store, then the listener acks), then act.

Acting: a retraction cancels the trigger's request; a later notice of a trigger already observed
re-points it when its position is better; otherwise the strategies judge, the request builder
writes the urgent request (alert user and program), `on_urgent` (the majordome's pre-emption,
injected at wiring) is told which sequence to run now, and the planner re-plans the night.
Every step is stored with its reason and its time in the latency chain; `on_urgent` may return
the wall-clock instants of the steps it took itself ({"abort": unix, "slew": unix}).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select

from orchestrator.alerts.fastpath import observable_now, plan_new_urgent, store_urgent_schedule
from orchestrator.alerts.notice import Kind, Notice, NoticeRejected, parse_notice, payload_key
from orchestrator.alerts.store import decide, decide_by_id, merge_latency, store_notice
from orchestrator.alerts.strategy import Strategy, Verdict, judge, load_strategies
from orchestrator.errors import PyrosError
from orchestrator.model import Alert, Request, Sequence, SequenceStatus
from orchestrator.planner.service import PlanConflict
from orchestrator.requests.builder import RequestBuilder
from orchestrator.runtime import Runtime
from orchestrator.users import find_user

log = logging.getLogger(__name__)
S = SequenceStatus
ACTIVE = (S.TO_BE_PLANNED, S.PLANNED, S.EXECUTING, S.UNPLANNABLE, S.FAILED)
SequenceCallback = Callable[[int, str], object]  # on_urgent may return {step: unix time}


def _log_only(what: str) -> SequenceCallback:
    def callback(sequence_id: int, reason: str) -> None:
        log.warning("%s sequence %d (%s): no majordome wired", what, sequence_id, reason)

    return callback


@dataclass
class Arrival:
    """A payload as a listener got it; `arrived_s` is time.perf_counter() at its last byte."""

    payload: bytes
    source: str  # folder, vtp, kafka, replay
    origin: str = ""  # file, broker address or topic
    arrived_s: float = field(default_factory=time.perf_counter)
    arrived_unix: float = field(default_factory=time.time)


@dataclass
class Received:
    alert_id: int
    duplicate: bool
    notice: Notice | None
    rejected: NoticeRejected | None
    arrival: Arrival
    marks: dict = field(default_factory=dict)

    @property
    def accepted(self) -> bool:
        return self.rejected is None


class AlertManager:
    def __init__(
        self,
        runtime: Runtime,
        on_urgent: SequenceCallback | None = None,
        on_cancel: SequenceCallback | None = None,
        strategies: list[Strategy] | None = None,
        replan: Callable[[Runtime, str], object] | None = None,
    ):
        self.runtime = runtime
        self.config = runtime.config.alerts
        self.on_urgent = on_urgent or _log_only("pre-empt for")
        self.on_cancel = on_cancel or _log_only("stop")
        self.strategies = (
            strategies if strategies is not None else load_strategies(self.config.strategies)
        )
        self.builder = RequestBuilder(runtime.config, runtime.clock)
        if replan is None:
            from orchestrator.planner.service import replan as planner_replan

            def replan(rt: Runtime, trigger: str) -> object:
                return planner_replan(rt, trigger=trigger)

        self._replan = replan
        # One alert at a time: a notice arriving twice (VTP and Kafka) is acted on once.
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        """Load the parsers, the schema and tonight's grid before the first alert needs them."""
        now = self.runtime.clock.now()
        for payload in (_WARM_VOEVENT, _WARM_JSON):
            parse_notice(payload, now, self.config.max_payload_bytes, 1e9)
        from orchestrator.planner.night import Site
        from orchestrator.planner.service import tonight

        site = self.runtime.config.site
        tonight(Site.from_config(site), site.timezone, now)

    # -- the pipeline ----------------------------------------------------------------------

    def handle(self, arrival: Arrival, ack: Callable[[Received], None] | None = None) -> Received:
        """Receive (stored), ack, then act: what every listener does with a payload."""
        with self._lock:
            received = self.receive(arrival)
            try:
                if ack is not None:
                    ack(received)
            finally:  # stored: act on it even if the ack could not be sent (broker gone)
                self.act(received)
            return received

    def receive(self, arrival: Arrival) -> Received:
        now = self.runtime.clock.now()
        notice, rejected = None, None
        try:
            notice = parse_notice(
                arrival.payload, now, self.config.max_payload_bytes, self.config.future_tolerance_s
            )
        except NoticeRejected as exc:
            rejected = exc
        marks = {"arrived_unix": arrival.arrived_unix, "received": 0.0}
        _mark(marks, "parsed", arrival)
        key = notice.key if notice else payload_key(arrival.payload)
        alert_id, duplicate = store_notice(
            self.runtime.sessions,
            key,
            arrival.payload,
            arrival.source,
            now,
            notice,
            f"rejected: {rejected}" if rejected else "",
            marks,
        )
        _mark(marks, "stored", arrival)
        if duplicate:
            log.info("alert %s already received (alert %d): not acted on again", key, alert_id)
        elif rejected:
            log.warning("alert %d from %s rejected: %s", alert_id, arrival.source, rejected)
        return Received(alert_id, duplicate, notice, rejected, arrival, marks)

    def act(self, received: Received) -> None:
        if received.duplicate:
            return
        notice = received.notice
        try:
            if notice is None:
                pass  # rejected: stored with its reason, nothing else
            elif notice.kind is Kind.RETRACTION:
                self._retract(received)
            elif not self._update(received):
                self._judge(received)
        finally:
            self._store_latency(received)

    # -- decisions ---------------------------------------------------------------------------

    def _judge(self, received: Received) -> None:
        notice = received.notice
        now = self.runtime.clock.now()
        verdict: Verdict = judge(self.strategies, notice, now, self.builder.minimum_duration_s)
        alert_id, strategy = received.alert_id, verdict.strategy
        with self.runtime.sessions.begin() as session:
            if not verdict.observe:
                decide_by_id(
                    session, alert_id, "record", verdict.reason, now, "recorded", strategy=strategy
                )
                return
            spec = verdict.spec
            spec.program = self.config.program
            try:
                user = find_user(session, self.config.username)
                written = self.builder.insert(session, spec, user, source="alert")
            except PyrosError as exc:
                reason = f"request refused: {exc}"
                log.warning("alert %d: %s", alert_id, reason)
                decide_by_id(
                    session, alert_id, "refused", reason, now, "refused", strategy=strategy
                )
                return
            sequence_id = written.sequence_ids[0]
            decide_by_id(
                session,
                alert_id,
                "observe",
                verdict.reason,
                now,
                "observing",
                request_id=written.request_id,
                strategy=strategy,
            )
            _mark(received.marks, "request", received.arrival)
            # The urgent schedule in the same transaction: one commit before the slew. Made
            # after the request (a later `created`): the planner job sees no new request.
            at = self.runtime.clock.now()
            why_not = observable_now(self.runtime.config, spec.sequences[0], at)
            if why_not is None:
                duration_s = spec.sequences[0].duration_s
                plan_new_urgent(session, self.runtime.config, sequence_id, duration_s, at)
        reason = f"alert {received.alert_id}: {verdict.reason}"
        if why_not is None:
            self._preempt_now(received, sequence_id, reason)
        else:
            self._replan_later(received, sequence_id, why_not)

    def _replan_and_preempt(self, received: Received, sequence_id: int, reason: str) -> None:
        """Fast path if the sequence can start now; then the full re-plan of the night."""
        now = self.runtime.clock.now()
        with self.runtime.sessions.begin() as session:
            sequence = session.get(Sequence, sequence_id)
            why_not = observable_now(self.runtime.config, sequence, now)
            if why_not is None:
                store_urgent_schedule(session, self.runtime.config, sequence, now)
        if why_not is None:
            self._preempt_now(received, sequence_id, reason)
        else:
            self._replan_later(received, sequence_id, why_not)

    def _preempt_now(self, received: Received, sequence_id: int, reason: str) -> None:
        """The urgent schedule is stored: pre-empt (the slew first), then re-plan the night."""
        _mark(received.marks, "schedule", received.arrival)
        steps = self.on_urgent(sequence_id, reason)  # the slew is out when it returns
        _mark(received.marks, "majordome", received.arrival)
        _add_steps(received.marks, steps, received.arrival)
        self._store_latency(received)  # the chain so far: the re-plan takes seconds
        try:
            self._replan(self.runtime, "alert")
        except PlanConflict as exc:
            # the slew is out and the urgent sequence planned: the listener carries on, and
            # the planner job re-plans the night at its next look (a sequence ended since)
            log.warning("alert %d: re-plan gave up: %s", received.alert_id, exc)
            return
        _mark(received.marks, "replanned", received.arrival)

    def _replan_later(self, received: Received, sequence_id: int, why_not: str) -> None:
        """Not observable now: the full re-plan places it later tonight, or says why not."""
        self._replan(self.runtime, "alert")
        _mark(received.marks, "schedule", received.arrival)
        with self.runtime.sessions.begin() as session:
            sequence = session.get(Sequence, sequence_id)
            status, why = S(sequence.status), sequence.status_reason
            alert = session.get(Alert, received.alert_id)
            if status not in (S.PLANNED, S.EXECUTING):
                decide(
                    session,
                    alert,
                    "not_schedulable",
                    f"sequence {sequence_id} is {status.value}: {why or why_not}",
                    self.runtime.clock.now(),
                    status="waiting",
                )
                return
            decide(
                session,
                alert,
                "scheduled",
                f"not now ({why_not}): sequence {sequence_id} planned later tonight",
                self.runtime.clock.now(),
            )

    def _previous(self, session, notice: Notice) -> list[Alert]:
        """Earlier alerts of the same trigger (or cited by this notice) that made a request."""
        conditions = []
        if notice.trigger_id:
            conditions.append(Alert.trigger_id == notice.trigger_id)
        if notice.supersedes:
            conditions.append(Alert.ivorn.in_(notice.supersedes))
        if not conditions:
            return []
        from sqlalchemy import or_

        return list(
            session.scalars(
                select(Alert)
                .where(or_(*conditions), Alert.request_id.is_not(None))
                .order_by(Alert.id)
            )
        )

    def _update(self, received: Received) -> bool:
        """A later notice of a trigger already observed: re-point if the position is better."""
        notice = received.notice
        now = self.runtime.clock.now()
        with self.runtime.sessions.begin() as session:
            previous = [a for a in self._previous(session, notice) if a.id != received.alert_id]
            if not previous:
                return False
            alert = session.get(Alert, received.alert_id)
            last = previous[-1]
            alert.supersedes_id = last.id
            alert.request_id = last.request_id
            if notice.kind is not Kind.POSITION:
                decide(
                    session,
                    alert,
                    "record",
                    f"update of alert {last.id} without a usable position ({notice.note})",
                    now,
                    status="recorded",
                )
                return True
            best = min(
                (a.error_radius_deg for a in previous if a.error_radius_deg is not None),
                default=None,
            )
            err = notice.error_radius_deg
            if best is not None and (err is None or err >= best):
                decide(
                    session,
                    alert,
                    "record",
                    f"position of alert {last.id}'s trigger not improved "
                    f"(error {err} deg vs {best:g} deg)",
                    now,
                    status="recorded",
                )
                return True
            request = session.get(Request, last.request_id)
            moved, running = [], []
            for seq in request.sequences:
                if S(seq.status) in ACTIVE:
                    seq.ra_deg, seq.dec_deg = notice.ra_deg, notice.dec_deg
                    moved.append(seq.id)
                    if S(seq.status) is S.EXECUTING:
                        running.append(seq.id)
            reason = (
                f"re-point request {request.id} to RA {notice.ra_deg:g} Dec "
                f"{notice.dec_deg:g} (error {err:g} deg, was {best} deg); frames kept"
            )
            if not moved:
                decide(
                    session,
                    alert,
                    "record",
                    f"request {request.id} already ended: {reason}",
                    now,
                    status="recorded",
                )
                return True
            decide(
                session, alert, "repoint", reason, now, status="repointed", request_id=request.id
            )
        _mark(received.marks, "request", received.arrival)
        if running:
            self._replan(self.runtime, "alert")
            _mark(received.marks, "schedule", received.arrival)
            for sequence_id in running:
                self.on_urgent(sequence_id, f"alert {received.alert_id}: {reason}")
            _mark(received.marks, "majordome", received.arrival)
        else:
            self._replan_and_preempt(received, moved[0], f"alert {received.alert_id}: {reason}")
        return True

    def _retract(self, received: Received) -> None:
        notice = received.notice
        now = self.runtime.clock.now()
        stopped: list[int] = []
        with self.runtime.sessions.begin() as session:
            alert = session.get(Alert, received.alert_id)
            previous = self._previous(session, notice)
            if not previous:
                decide(
                    session,
                    alert,
                    "record",
                    "retraction of a trigger we did not observe",
                    now,
                    status="retracted",
                )
                return
            cancelled = []
            for request_id in sorted({a.request_id for a in previous}):
                request = session.get(Request, request_id)
                for seq in request.sequences:
                    if S(seq.status) in ACTIVE and seq.can_move_to(S.CANCELLED):
                        if S(seq.status) is S.EXECUTING:
                            stopped.append(seq.id)
                        seq.cancel(now, f"retracted by alert {alert.id}")
                        cancelled.append(seq.id)
            alert.request_id = previous[-1].request_id
            alert.supersedes_id = previous[-1].id
            decide(
                session,
                alert,
                "cancel",
                f"retraction: cancelled sequences {cancelled or 'none (already ended)'}",
                now,
                status="retracted",
                request_id=alert.request_id,
            )
        _mark(received.marks, "request", received.arrival)
        for sequence_id in stopped:
            self.on_cancel(sequence_id, f"retracted by alert {received.alert_id}")
        self._replan(self.runtime, "alert")
        _mark(received.marks, "schedule", received.arrival)

    def _store_latency(self, received: Received) -> None:
        # merged: the majordome's hook may have added its slew step meanwhile
        merge_latency(self.runtime.sessions, received.alert_id, dict(received.marks))


_WARM_VOEVENT = b"""<?xml version="1.0" encoding="UTF-8"?>
<voe:VOEvent xmlns:voe="http://www.ivoa.net/xml/VOEvent/v2.0" ivorn="ivo://pyros/warmup#1"
 role="test" version="2.0"><Who><AuthorIVORN>ivo://pyros/warmup</AuthorIVORN>
<Date>2026-01-01T00:00:00</Date></Who></voe:VOEvent>"""
_WARM_JSON = b'{"mission": "PyROS", "id": "warmup", "alert_tense": "test"}'


def _mark(marks: dict, step: str, arrival: Arrival) -> None:
    marks[step] = round((time.perf_counter() - arrival.arrived_s) * 1000.0, 3)


def _add_steps(marks: dict, steps: object, arrival: Arrival) -> None:
    """Steps another component took, given as {step: Unix time}, in ms after arrival."""
    if isinstance(steps, dict):
        for step, at_unix in steps.items():
            marks[step] = round((at_unix - arrival.arrived_unix) * 1000.0, 3)
