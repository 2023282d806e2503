"""The web form for observation requests: one sequence typed in, or an XML file uploaded.

Same request builder as the CLI and the JSON API; the user name and password are part of the
form (there is no login session yet). Bad input re-shows the form with the one-line error.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, render_template, request

from orchestrator.errors import PyrosError
from orchestrator.model import Channel
from orchestrator.request_builder import RequestBuilder
from orchestrator.request_spec import spec_from_mapping
from orchestrator.request_xml import submit_xml
from orchestrator.runtime import Runtime
from orchestrator.users import Forbidden, authenticate

blueprint = Blueprint("request_form", __name__)


def _runtime() -> Runtime:
    return current_app.extensions["pyros_runtime"]


def _utc(text: str) -> str:
    """<input type=datetime-local> has no zone; the form says its times are UTC."""
    text = text.strip()
    return text if not text or text.endswith("Z") or "+" in text[10:] else text + "Z"


def _album(form: dict[str, str], channel: Channel) -> dict[str, Any] | None:
    prefix = channel.value.lower()
    if not form.get(f"{prefix}_exposure_s", "").strip():
        return None  # this camera is not used
    return {
        "channel": channel.value,
        "plans": [
            {
                "filter_name": form.get(f"{prefix}_filter", ""),
                "exposure_s": form.get(f"{prefix}_exposure_s"),
                "count": form.get(f"{prefix}_count") or 1,
            }
        ],
    }


def mapping_from_form(form: dict[str, str]) -> dict[str, Any]:
    """The form's fields as the API's JSON body (types are checked by `spec_from_mapping`)."""
    albums = [a for ch in (Channel.VIS, Channel.NIR) if (a := _album(form, ch)) is not None]
    sequence: dict[str, Any] = {
        "name": form.get("sequence_name") or form.get("target_name", ""),
        "target_name": form.get("target_name", ""),
        "ra_deg": form.get("ra_deg", ""),
        "dec_deg": form.get("dec_deg", ""),
        "window_start": _utc(form.get("window_start", "")),
        "window_end": _utc(form.get("window_end", "")),
        "duration_s": form.get("duration_s", ""),
        "priority": form.get("priority") or 0,
        "min_altitude_deg": form.get("min_altitude_deg") or 30,
        "albums": albums,
    }
    return {
        "name": form.get("name", ""),
        "program": form.get("program") or None,
        "sequences": [sequence],
    }


@blueprint.route("/requests/new", methods=["GET", "POST"])
def new_request():
    runtime = _runtime()
    builder = RequestBuilder(runtime.config, runtime.clock)
    filters = {ch.value: builder.filters(ch) for ch in Channel}
    form = request.form.to_dict()
    if request.method == "GET":
        return render_template("request_form.html", form=form, filters=filters)
    with runtime.sessions() as session:
        user = authenticate(session, form.get("username", ""), form.get("password", ""))
        username = user.username if user else None
    if username is None:
        error = "user: unknown user name or wrong password"
        return render_template("request_form.html", form=form, filters=filters, error=error), 401
    try:
        upload = request.files.get("xml_file")
        if upload is not None and upload.filename:
            done = submit_xml(
                builder, runtime.sessions, upload.read(), upload.filename, username, "form"
            )
        else:
            spec = spec_from_mapping(mapping_from_form(form))
            done = builder.submit(runtime.sessions, spec, username, "form")
    except PyrosError as exc:
        status = 403 if isinstance(exc, Forbidden) else 400
        return render_template(
            "request_form.html", form=form, filters=filters, error=str(exc)
        ), status
    form.pop("password", None)
    return render_template("request_form.html", form=form, filters=filters, done=done), 201
