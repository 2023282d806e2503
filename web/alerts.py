"""Alert pages and `/api/alerts`: the history with each alert's outcome, strategy decision and
latency chain; an alert's detail with its decisions and raw notice (escaped, never rendered).

"Fake alert" (operators, simulation mode only): a shipped notice (simulators/resources/notices)
is made fresh and written into the watched folder (`alerts.replay`, as `pyros alerts replay`
does), so it takes the real path: folder listener, storage, strategy, request, pre-emption.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, select

from orchestrator.alerts.replay import freshen, to_folder
from orchestrator.alerts.store import LATENCY_STEPS
from orchestrator.errors import InputError
from orchestrator.model import Alert, AlertDecision
from orchestrator.users import Forbidden, Permission
from web.auth import WebUser, api_user, runtime
from web.json_body import parse_json

blueprint = Blueprint("alerts", __name__)
NOTICES_DIR = Path(__file__).resolve().parents[1] / "simulators" / "resources" / "notices"
PAGE_SIZE = 100
KINDS = ("position", "no_position", "test", "retraction", "rejected")


def shipped_notices() -> list[str]:
    return sorted(p.name for p in NOTICES_DIR.glob("*") if p.suffix in (".xml", ".json"))


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def alert_json(a: Alert, decisions: list[AlertDecision], payload: bool = False) -> dict[str, Any]:
    chain = a.latency_ms or {}
    out = {
        "id": a.id,
        "ivorn": a.ivorn,
        "source": a.source,
        "received": _iso(a.received),
        "mission": a.mission,
        "instrument": a.instrument,
        "notice_type": a.notice_type,
        "role": a.role,
        "trigger_id": a.trigger_id,
        "event_time": _iso(a.event_time),
        "ra_deg": a.ra_deg,
        "dec_deg": a.dec_deg,
        "error_radius_deg": a.error_radius_deg,
        "kind": a.kind,
        "status": a.status,
        "reason": a.reason,
        "strategy": a.strategy,
        "request_id": a.request_id,
        "supersedes_id": a.supersedes_id,
        # steps in the chain's order; "arrived_unix" is bookkeeping, not a step
        "latency_ms": {s: chain[s] for s in LATENCY_STEPS if s in chain},
        "decisions": [
            {
                "time": _iso(d.time),
                "action": d.action,
                "reason": d.reason,
                "request_id": d.request_id,
            }
            for d in decisions
        ],
    }
    if payload:
        out["payload"] = a.payload
    return out


def alert_page(args) -> tuple[list[dict[str, Any]], int]:
    """One page of the history, newest first; `kind` and `page` are checked and named."""
    query = select(Alert)
    kind = args.get("kind", "")
    if kind:
        if kind not in KINDS:
            raise InputError("kind", f"must be one of {', '.join(KINDS)} (got {kind[:20]!r})")
        query = query.where(Alert.kind == kind)
    raw_page = args.get("page", "1")
    if not raw_page.isdigit() or not 1 <= int(raw_page) <= 100_000:
        raise InputError("page", f"must be a page number 1-100000 (got {raw_page[:20]!r})")
    page = int(raw_page)
    query = query.order_by(Alert.id.desc()).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)
    with runtime().sessions() as session:
        alerts = list(session.scalars(query))
        decisions: dict[int, list[AlertDecision]] = {a.id: [] for a in alerts}
        if alerts:
            for d in session.scalars(
                select(AlertDecision)
                .where(AlertDecision.alert_id.in_(list(decisions)))
                .order_by(AlertDecision.id)
            ):
                decisions[d.alert_id].append(d)
        return [alert_json(a, decisions[a.id]) for a in alerts], page


def one_alert(alert_id: int) -> tuple[dict[str, Any], list[str]]:
    """An alert with its payload, and the pipeline's error-box report lines (or why none)."""
    from orchestrator.pipeline.report_view import report_lines

    with runtime().sessions() as session:
        a = session.get(Alert, alert_id) if alert_id < 2**63 else None
        if a is None:
            abort(404)
        decisions = list(
            session.scalars(
                select(AlertDecision)
                .where(AlertDecision.alert_id == a.id)
                .order_by(AlertDecision.id)
            )
        )
        view = alert_json(a, decisions, payload=True)
        try:
            report = report_lines(runtime(), a)
        except Exception as exc:  # noqa: BLE001 - the alert shows even if the report cannot
            report = [f"report unavailable: {type(exc).__name__}"]
        return view, report


def replay(user: WebUser, notice: Any) -> str:
    """Simulation mode: a shipped notice, made fresh, into the watched folder; the file name."""
    rt = runtime()
    if not rt.config.simulators.enabled:
        raise Forbidden("simulators", "fake alerts exist only in simulation ([simulators] enabled)")
    if not user.can(Permission.OPERATE):
        raise Forbidden("user", f"'{user.username}' (role {user.role.value}) may not fake alerts")
    names = shipped_notices()
    if not isinstance(notice, str) or notice not in names:
        raise InputError("notice", f"must be one of {', '.join(names)} (got {notice!r:.60})")
    payload = freshen((NOTICES_DIR / notice).read_bytes(), rt.clock.now())
    return to_folder(rt.config.folders.voevents, notice, payload).name


@blueprint.get("/alerts")
@login_required
def page():
    try:
        rows, page_number = alert_page(request.args)
        error = None
    except InputError as exc:
        rows, page_number, error = [], 1, str(exc)
    with runtime().sessions() as session:
        total = session.scalar(select(func.count()).select_from(Alert))
    return render_template(
        "alerts.html", rows=rows, page=page_number, total=total, args=request.args,
        kinds=KINDS, steps=LATENCY_STEPS, error=error, page_size=PAGE_SIZE,
        notices=shipped_notices() if runtime().config.simulators.enabled else [],
    ), (400 if error else 200)  # fmt: skip


@blueprint.get("/alerts/<int:alert_id>")
@login_required
def detail(alert_id: int):
    view, report = one_alert(alert_id)
    return render_template("alert_detail.html", a=view, report=report, steps=LATENCY_STEPS)


@blueprint.post("/alerts/replay")
@login_required
def replay_form():
    try:
        name = replay(current_user, request.form.get("notice", "")[:200])
    except Forbidden:
        abort(403)
    except InputError as exc:
        flash(f"error: {exc}")
        return redirect(url_for(".page")), 303
    flash(f"fake alert: {name} written into the watched folder; it appears below once taken")
    return redirect(url_for(".page"))


@blueprint.get("/api/alerts")
def api_alerts():
    api_user()
    rows, page_number = alert_page(request.args)
    return jsonify({"page": page_number, "alerts": rows})


@blueprint.get("/api/alerts/<int:alert_id>")
def api_alert(alert_id: int):
    api_user()
    view, report = one_alert(alert_id)
    return jsonify(view | {"report": report})


@blueprint.post("/api/alerts/replay")
def api_replay():
    user = api_user()
    body = parse_json(request.get_data())
    if not isinstance(body, dict):
        raise InputError("request", "the body must be a JSON object {notice}")
    name = replay(user, body.get("notice"))
    response = jsonify({"file": name})
    response.status_code = 202
    return response
