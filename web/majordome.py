"""The majordome and devices page (operators) and `/api/majordome`: mode AUTO/MANUAL, pause,
resume, abort and, in MANUAL, slew, park, dome, a test exposure and the site lights.

Every action is a `command` row queued through `commands.queue`, as `pyros majordome` and
`pyros device` do; the orchestrator takes it, applies the safety interlock (a forced move is
logged with the user's name) and writes the result, which the page polls until it is done.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from orchestrator.errors import InputError
from orchestrator.majordome.commands import queue
from orchestrator.model import Command
from orchestrator.status import system_status
from orchestrator.users import Permission
from web.auth import WebUser, api_user, permission_required, runtime
from web.control import CAMERAS, IMAGE_TYPES, arguments_from_form, check_command, command_json
from web.dashboard import jsonable
from web.json_body import parse_json

blueprint = Blueprint("majordome", __name__)
log = logging.getLogger("pyros.web")
RECENT = 20


def issue(user: WebUser, kind: Any, arguments: Any) -> int:
    """Check, then queue as `web:USER`; a forced move is logged here and by the runner."""
    kind, args = check_command(kind, arguments)
    who = f"web:{user.username}"[:64]
    if args.get("force"):
        log.warning("%s asks to FORCE %s %s (the interlock is bypassed if unsafe)", who, kind, args)
    return queue(runtime(), kind, args, issued_by=who)


def overview() -> dict[str, Any]:
    """The majordome's row, safety, the instruments' states and the last commands."""
    status = system_status(runtime())
    with runtime().sessions() as session:
        mine = Command.telescope == runtime().config.telescope.name
        rows = session.scalars(
            select(Command).where(mine).order_by(Command.id.desc()).limit(RECENT)
        )
        commands = [command_json(r) for r in rows]
    return jsonable(
        {
            "time": status["time"],
            "majordome": status.get("majordome"),
            "safety": status.get("safety"),
            "devices": status.get("devices", []),
            "commands": commands,
            "simulated": runtime().config.simulators.enabled,
        }
    )


def _command_row(command_id: int) -> dict[str, Any]:
    with runtime().sessions() as session:
        row = session.get(Command, command_id) if command_id < 2**63 else None
        if row is None:
            abort(404)
        return command_json(row)


@blueprint.get("/majordome")
@permission_required(Permission.OPERATE)
def page():
    wanted = request.args.get("command", "")
    return render_template(
        "majordome.html",
        view=overview(),
        cameras=CAMERAS,
        image_types=IMAGE_TYPES,
        command_id=int(wanted) if wanted.isdigit() and len(wanted) < 18 else None,
    )


@blueprint.post("/majordome/commands")
@permission_required(Permission.OPERATE)
def post_command():
    kind = request.form.get("kind", "")[:32]
    try:
        command_id = issue(current_user, kind, arguments_from_form(kind, request.form))
    except InputError as exc:
        return render_template(
            "majordome.html", view=overview(), cameras=CAMERAS, image_types=IMAGE_TYPES,
            command_id=None, error=str(exc),
        ), 400  # fmt: skip
    flash(f"command {command_id} ({kind}) queued")
    return redirect(url_for(".page", command=command_id))


@blueprint.get("/api/majordome")
def api_overview():
    if not api_user().can(Permission.OPERATE):
        abort(403)
    return jsonify(overview())


@blueprint.post("/api/majordome/commands")
def api_command():
    user = api_user()
    if not user.can(Permission.OPERATE):
        abort(403)
    body = parse_json(request.get_data())
    if not isinstance(body, dict):
        raise InputError("request", "the body must be a JSON object {kind, arguments}")
    command_id = issue(user, body.get("kind"), body.get("arguments"))
    response = jsonify(_command_row(command_id))
    response.status_code = 202
    response.headers["Location"] = url_for(".api_command_row", command_id=command_id)
    return response


@blueprint.get("/api/majordome/commands/<int:command_id>")
def api_command_row(command_id: int):
    if not api_user().can(Permission.OPERATE):
        abort(403)
    return jsonify(_command_row(command_id))
