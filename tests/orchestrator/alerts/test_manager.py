"""The alert pipeline on a real database: storage first, strategies, request, re-plan, updates."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from orchestrator.alerts.manager import AlertManager, Arrival
from orchestrator.model import Alert, AlertDecision, Request, Schedule, Sequence, SequenceStatus
from orchestrator.planner.service import PlanConflict
from orchestrator.planner.triggers import ReplanTriggers
from tests.orchestrator.alerts.conftest import VOEVENTS, json_notice


class Calls:
    def __init__(self):
        self.calls: list[tuple[int, str]] = []

    def __call__(self, sequence_id: int, reason: str) -> None:
        self.calls.append((sequence_id, reason))


def manager(site) -> tuple[AlertManager, Calls, Calls]:
    urgent, cancel = Calls(), Calls()
    return AlertManager(site, on_urgent=urgent, on_cancel=cancel), urgent, cancel


def decisions(site, alert_id: int) -> list[tuple[str, str]]:
    with site.sessions() as s:
        rows = s.scalars(select(AlertDecision).where(AlertDecision.alert_id == alert_id))
        return [(d.action, d.reason) for d in rows]


def test_a_usable_notice_becomes_an_urgent_request_a_schedule_and_a_preemption(site):
    mgr, urgent, _ = manager(site)
    got = mgr.handle(Arrival(json_notice(site), "folder", "test.json"))
    assert got.accepted and not got.duplicate
    with site.sessions() as s:
        alert = s.get(Alert, got.alert_id)
        assert (alert.status, alert.strategy, alert.kind) == ("observing", "ep-wxt", "position")
        request = s.get(Request, alert.request_id)
        assert request.is_alert and request.source == "alert"
        assert request.user.username == "alerts" and request.program.name == "GRB"
        sequence = request.sequences[0]
        assert sequence.is_urgent and sequence.status == SequenceStatus.PLANNED
        assert [p.filter_name for a in sequence.albums for p in a.plans] == ["r", "J"]
        # the fast path's schedule (urgent first, from now), then the full re-plan's
        fast, full = s.scalars(select(Schedule).order_by(Schedule.id)).all()
        assert fast.trigger == "alert" and fast.entries[0].sequence_id == sequence.id
        assert fast.entries[0].start == site.clock.now()
        assert full.entries[0].sequence_id == sequence.id
        chain = alert.latency_ms
    assert urgent.calls == [(sequence.id, urgent.calls[0][1])]
    assert "ep-wxt" in urgent.calls[0][1]
    steps = ["received", "parsed", "stored", "request", "schedule", "majordome", "replanned"]
    values = [chain[step] for step in steps]
    assert values == sorted(values) and values[0] == 0.0
    assert decisions(site, got.alert_id)[0][0] == "observe"


def test_the_same_notice_twice_is_stored_once_and_acted_on_once(site):
    mgr, urgent, _ = manager(site)
    payload = json_notice(site)
    first = mgr.handle(Arrival(payload, "vtp"))
    second = mgr.handle(Arrival(payload, "kafka"))
    assert second.duplicate and second.alert_id == first.alert_id
    with site.sessions() as s:
        assert s.scalar(select(func.count(Alert.id))) == 1
        assert s.scalar(select(func.count(Request.id))) == 1
    assert len(urgent.calls) == 1


def test_a_rejected_notice_is_stored_with_its_reason_and_makes_no_request(site):
    mgr, urgent, _ = manager(site)
    got = mgr.handle(
        Arrival(b'{"ra": 400, "dec": 1, "trigger_time": "2026-11-25T03:00:00Z"}', "folder")
    )
    assert not got.accepted and got.rejected.field == "ra"
    with site.sessions() as s:
        alert = s.get(Alert, got.alert_id)
        assert alert.status == "rejected" and alert.kind == "rejected"
        assert "ra: RA 400" in alert.reason and '"ra": 400' in alert.payload
        assert s.scalar(select(func.count(Request.id))) == 0
    assert urgent.calls == []


def test_shipped_notices_months_old_or_without_position_are_only_recorded(site):
    mgr, urgent, _ = manager(site)
    outcomes = {}
    for name in (
        "svom__eclairs__eclairs_296.xml",
        "svom__grm__grm_284.xml",
        "fermi__fermi_gbm_alert__fermi_gbm_alert_3785.xml",
        "lvc__lvc_preliminary__lvc_preliminary_73128.xml",
        "swift__swift_bat_grb_pos_test__swift_bat_grb_pos_test_9264.xml",
    ):
        got = mgr.handle(Arrival((VOEVENTS / name).read_bytes(), "folder", name))
        outcomes[name.split("__")[1]] = decisions(site, got.alert_id)[-1]
    assert outcomes["eclairs"][0] == "record" and "old" in outcomes["eclairs"][1]
    assert "time only" in outcomes["grm"][1]
    assert "placeholder" in outcomes["fermi_gbm_alert"][1]
    assert "test notice" in outcomes["lvc_preliminary"][1]
    assert "test notice" in outcomes["swift_bat_grb_pos_test"][1]
    assert urgent.calls == []
    with site.sessions() as s:
        assert s.scalar(select(func.count(Request.id))) == 0


def test_a_better_position_repoints_and_a_worse_one_is_only_recorded(site):
    mgr, urgent, _ = manager(site)
    first = mgr.handle(Arrival(json_notice(site, "EP1", err_deg=0.08), "folder"))
    better = mgr.handle(
        Arrival(
            json_notice(site, "EP1", err_deg=0.02, ra_offset_deg=0.05, alert_type="update"),
            "folder",
        )
    )
    worse = mgr.handle(
        Arrival(
            json_notice(site, "EP1", err_deg=0.09, ra_offset_deg=1.0, alert_type="update"), "folder"
        )
    )
    with site.sessions() as s:
        a1, a2, a3 = (s.get(Alert, r.alert_id) for r in (first, better, worse))
        assert a2.status == "repointed" and a2.supersedes_id == a1.id
        assert a3.status == "recorded" and "not improved" in a3.reason
        sequence = s.get(Request, a1.request_id).sequences[0]
        assert sequence.ra_deg == a2.ra_deg != a1.ra_deg
        assert s.scalar(select(func.count(Request.id))) == 1
    assert [c[0] for c in urgent.calls] == [sequence.id, sequence.id]


def test_a_retraction_cancels_the_request_and_stops_its_running_sequence(site):
    mgr, urgent, cancel = manager(site)
    first = mgr.handle(Arrival(json_notice(site, "EP2"), "folder"))
    with site.sessions.begin() as s:  # the majordome started it
        sequence = s.get(Request, s.get(Alert, first.alert_id).request_id).sequences[0]
        sequence.start(site.clock.now())
        sequence_id = sequence.id
    retraction = mgr.handle(Arrival(json_notice(site, "EP2", alert_type="retraction"), "kafka"))
    with site.sessions() as s:
        alert = s.get(Alert, retraction.alert_id)
        assert alert.status == "retracted" and alert.is_retraction
        assert s.get(Sequence, sequence_id).status == SequenceStatus.CANCELLED
    assert decisions(site, retraction.alert_id)[0][0] == "cancel"
    assert cancel.calls == [(sequence_id, f"retracted by alert {retraction.alert_id}")]


def test_a_target_below_the_horizon_now_is_not_preempted_for(site):
    mgr, urgent, _ = manager(site)
    got = mgr.handle(Arrival(json_notice(site, "EP3", ra_offset_deg=180.0), "folder"))
    actions = decisions(site, got.alert_id)
    assert actions[0][0] == "observe"
    assert actions[-1][0] in ("not_schedulable", "scheduled")
    assert "altitude" in actions[-1][1] and "below" in actions[-1][1]
    assert urgent.calls == []


def test_the_majordome_closes_the_chain_with_its_slew_step(site):
    from orchestrator.alerts.store import record_slew

    mgr, urgent, _ = manager(site)
    got = mgr.handle(Arrival(json_notice(site, "EP4"), "vtp"))
    sequence_id = urgent.calls[0][0]
    assert record_slew(site.sessions, sequence_id) == [got.alert_id]
    assert record_slew(site.sessions, sequence_id) == []  # once
    with site.sessions() as s:
        chain = s.get(Alert, got.alert_id).latency_ms
    assert chain["slew"] >= chain["majordome"]


def test_shipped_svom_update_repoints_the_request_of_its_trigger(tmp_path, db_url):
    """ECLAIRs 296 then 297 (same burst, better error), on the clock of that day."""
    from datetime import UTC, datetime

    from orchestrator import db
    from orchestrator.bootstrap import init_site
    from orchestrator.clock import ManualClock
    from tests.conftest import make_runtime

    runtime = make_runtime(tmp_path, ManualClock(datetime(2026, 2, 11, 19, 26, tzinfo=UTC)), db_url)
    db.upgrade(runtime.engine)
    init_site(runtime, "secret")
    mgr, _, _ = manager(runtime)
    first = mgr.handle(Arrival((VOEVENTS / "svom__eclairs__eclairs_296.xml").read_bytes(), "vtp"))
    second = mgr.handle(Arrival((VOEVENTS / "svom__eclairs__eclairs_297.xml").read_bytes(), "vtp"))
    with runtime.sessions() as s:
        a1, a2 = s.get(Alert, first.alert_id), s.get(Alert, second.alert_id)
        assert a1.strategy == "svom-eclairs" and a1.request_id is not None
        assert a2.supersedes_id == a1.id and a2.request_id == a1.request_id
        assert a2.status == "waiting"  # 11:26 at the site: daytime, not schedulable now
        sequence = s.get(Request, a1.request_id).sequences[0]
        assert (sequence.ra_deg, sequence.dec_deg) == (a2.ra_deg, a2.dec_deg)
    actions = [a for a, _ in decisions(runtime, second.alert_id)]
    assert actions == ["repoint", "not_schedulable"]
    runtime.engine.dispose()


def test_the_urgent_schedule_is_newer_than_its_request_so_no_second_replan_is_due(site):
    """The planner job re-plans on a request newer than the last schedule: the alert's fast
    path must not leave its own request looking new (a second re-plan, racing the alert's)."""
    start, ticks = site.clock.now(), iter(range(1, 1_000_000))
    site.clock.now = lambda: start + timedelta(milliseconds=next(ticks))  # a clock that moves
    due: list[str | None] = []
    mgr = AlertManager(
        site,
        on_urgent=lambda sequence_id, reason: due.append(ReplanTriggers(site).pending_trigger()),
        replan=lambda runtime, trigger: None,
    )
    mgr.handle(Arrival(json_notice(site), "folder"))
    assert due == [None]


def test_a_replan_that_gives_up_after_the_slew_leaves_the_listener_running(site, caplog):
    """The night's re-plan after the pre-emption may give up (sequences moved meanwhile): the
    alert is acted on, its chain ends at the majordome, and the next notice is handled."""

    def conflicting(runtime, trigger):
        raise PlanConflict("re-plan (alert) gave up after 3 conflicts")

    urgent = Calls()
    mgr = AlertManager(site, on_urgent=urgent, replan=conflicting)
    first = mgr.handle(Arrival(json_notice(site, "01700000001"), "folder"))
    second = mgr.handle(Arrival(json_notice(site, "01700000002"), "folder"))
    assert len(urgent.calls) == 2
    with site.sessions() as s:
        chain = s.get(Alert, first.alert_id).latency_ms
        assert s.get(Alert, second.alert_id).status == "observing"
    assert "majordome" in chain and "replanned" not in chain
    assert f"alert {first.alert_id}: re-plan gave up" in caplog.text
