"""Admin: programs (name, quota, priority) and countries (name, quota) edited and added.

Each field is checked and named when wrong; nothing is written then. The alerts' program
(`alerts.program`) keeps its name: alert requests are charged to it by name.
"""

from __future__ import annotations

import math
import re

from flask import Blueprint, flash, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import select

from orchestrator.errors import InputError, PyrosError
from orchestrator.model import Country, ScientificProgram
from orchestrator.users import Permission
from web.admin import users
from web.auth import permission_required, runtime
from web.history import record

blueprint = Blueprint("catalog", __name__, url_prefix="/admin")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.\-]{0,63}$")
MAX_QUOTA_H = 1e6


def _name(form) -> str:
    name = form.get("name", "").strip()
    if not NAME_RE.match(name):
        raise InputError(
            "name", f"1-64 letters, digits, space, '_', '.' or '-', starting with a letter or "
            f"digit (got {name[:40]!r})"
        )  # fmt: skip
    return name


def _quota(form) -> float:
    raw = form.get("quota_h", "").strip()
    try:
        value = float(raw)
    except ValueError:
        raise InputError("quota_h", f"must be a number of hours (got {raw[:20]!r})") from None
    if not math.isfinite(value) or not 0 <= value <= MAX_QUOTA_H:
        raise InputError("quota_h", f"must be 0-{MAX_QUOTA_H:.0f} hours (got {raw[:20]!r})")
    return value


def _priority(form) -> int:
    raw = form.get("priority", "0").strip() or "0"
    if not re.fullmatch(r"-?\d{1,4}", raw) or not -1000 <= int(raw) <= 1000:
        raise InputError("priority", f"must be a whole number -1000..1000 (got {raw[:20]!r})")
    return int(raw)


def _unique(session, model, name: str, own_id: int | None) -> None:
    other = session.scalar(select(model.id).where(model.name == name))
    if other is not None and other != own_id:
        raise InputError("name", f"{name!r} is already taken")


def _save(model, item_id: int | None, what: str):
    form = request.form
    try:
        with runtime().sessions.begin() as session:
            name, quota_h = _name(form), _quota(form)
            priority = _priority(form) if model is ScientificProgram else 0
            item = None
            if item_id is not None:
                item = session.get(model, item_id) if item_id < 2**63 else None
                if item is None:
                    raise InputError(what, f"no {what} {item_id}")
                protected = runtime().config.alerts.program
                if model is ScientificProgram and item.name == protected and name != protected:
                    raise InputError("name", f"{protected!r} is the alerts' program: keep its name")
            _unique(session, model, name, item_id)  # before any write: nothing half-done
            if item is None:
                item = model(name=name)
                session.add(item)
            old = item.name
            item.name, item.quota_h = name, quota_h
            if model is ScientificProgram:
                item.priority = priority
            session.flush()
        detail = f"{what} {old!r}" + (f" renamed {name!r}" if old != name else "")
        record(current_user.username, f"admin: {detail}: quota {quota_h:g} h")
        flash(f"{what} {name}: saved")
    except PyrosError as exc:
        flash(f"error: {exc}")
        return users(), 400
    return redirect(url_for("admin.users"))


@blueprint.post("/programs")
@permission_required(Permission.MANAGE_USERS)
def add_program():
    return _save(ScientificProgram, None, "program")


@blueprint.post("/programs/<int:program_id>")
@permission_required(Permission.MANAGE_USERS)
def change_program(program_id: int):
    return _save(ScientificProgram, program_id, "program")


@blueprint.post("/countries")
@permission_required(Permission.MANAGE_USERS)
def add_country():
    return _save(Country, None, "country")


@blueprint.post("/countries/<int:country_id>")
@permission_required(Permission.MANAGE_USERS)
def change_country(country_id: int):
    return _save(Country, country_id, "country")
