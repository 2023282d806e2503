"""Admin pages: users (approve, role, country, quota, deactivate); programs and countries are
listed here and edited by `web/catalog.py`. Every change goes to the users' history.
"""

from __future__ import annotations

import math

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from orchestrator.errors import InputError, PyrosError
from orchestrator.model import Country, Role, ScientificProgram, User
from orchestrator.users import Permission, _level_for_role, quota_state
from web.auth import permission_required, runtime
from web.history import record

blueprint = Blueprint("admin", __name__, url_prefix="/admin")


@blueprint.get("/users")
@permission_required(Permission.MANAGE_USERS)
def users():
    with runtime().sessions() as session:
        rows = session.scalars(select(User).order_by(User.approved, User.username)).all()
        return render_template(
            "admin_users.html",
            users=[(u, quota_state(session, u)) for u in rows],
            roles=[r.value for r in Role],
            countries=session.scalars(select(Country).order_by(Country.name)).all(),
            programs=[
                (p, quota_state(session, p))
                for p in session.scalars(select(ScientificProgram).order_by(ScientificProgram.name))
            ],
        )


def _quota(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise InputError("quota_h", f"must be a number of hours (got {raw[:20]!r})") from None
    if not math.isfinite(value) or not 0 <= value <= 1e6:
        raise InputError("quota_h", f"must be 0-1000000 hours (got {raw[:20]!r})")
    return value


@blueprint.post("/users/<int:user_id>")
@permission_required(Permission.MANAGE_USERS)
def change_user(user_id: int):
    form = request.form
    try:
        with runtime().sessions.begin() as session:
            user = session.get(User, user_id) if user_id < 2**63 else None
            if user is None:
                raise InputError("user", f"no user {user_id}")
            action = form.get("action", "save")
            if action == "approve":
                user.approved = True
            elif action == "deactivate":
                user.is_active = False
            elif action == "activate":
                user.is_active = True
            elif action == "save":
                user.user_level = _level_for_role(session, form.get("role", "")[:16])
                name = form.get("country", "")
                country = session.scalar(select(Country).where(Country.name == name[:64]))
                if name and country is None:
                    raise InputError("country", f"unknown country {name[:64]!r}")
                user.country = country
                user.quota_h = _quota(form.get("quota_h", ""))
            else:
                raise InputError("action", f"unknown action {action[:20]!r}")
            done = f"user {user.username}: {action} done"
        record(current_user.username, f"admin: {done}")
        flash(done)
    except PyrosError as exc:
        flash(f"error: {exc}")
    return redirect(url_for(".users"))
