"""Request pages: the list (own, or all for operators) with filters, a request's detail
(sequences → albums → plans and each status), submit by form or XML upload, edit, cancel.

Everything goes through the one request builder; bad input re-shows the page with the error.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from orchestrator.errors import InputError, PyrosError
from orchestrator.model import Channel, Request, Sequence, SequenceStatus, User
from orchestrator.requests.builder import RequestBuilder, spec_of_request
from orchestrator.requests.changes import (
    cancel_request,
    changeable,
    edit_request,
    find_request,
    may_change,
    may_read,
)
from orchestrator.requests.spec import spec_from_mapping
from orchestrator.requests.xml_io import parse_request, request_to_xml, submit_xml
from orchestrator.users import Forbidden, Permission
from web.auth import db_user, runtime
from web.request_form import mapping_from_form

blueprint = Blueprint("requests_pages", __name__, url_prefix="/requests")
PAGE_SIZE = 100


def _builder() -> RequestBuilder:
    rt = runtime()
    return RequestBuilder(rt.config, rt.clock)


def list_query(user_id: int | None, args) -> tuple:
    """The SELECT of the list for these filters (shared with the API); checks each filter."""
    query = select(Request).options(selectinload(Request.sequences), selectinload(Request.user))
    if user_id is not None:
        query = query.where(Request.user_id == user_id)
    status = args.get("status", "")
    if status:
        try:
            wanted = SequenceStatus(status)
        except ValueError:
            known = ", ".join(s.value for s in SequenceStatus)
            raise InputError("status", f"unknown status {status[:30]!r} (one of {known})") from None
        query = query.where(
            Request.id.in_(select(Sequence.request_id).where(Sequence.status == wanted))
        )
    name = args.get("name", "")[:128]
    if name:
        query = query.where(func.lower(Request.name).contains(name.lower(), autoescape=True))
    username = args.get("user", "")[:64]
    if username:
        query = query.join(User, Request.user_id == User.id).where(User.username == username)
    raw_page = args.get("page", "1")
    if not raw_page.isdigit() or not 1 <= int(raw_page) <= 100_000:
        raise InputError("page", f"must be a page number 1-100000 (got {raw_page[:20]!r})")
    offset = (int(raw_page) - 1) * PAGE_SIZE
    return query.order_by(Request.id.desc()).offset(offset).limit(PAGE_SIZE), int(raw_page)


@blueprint.get("")
@login_required
def list_requests():
    see_all = current_user.can(Permission.VIEW_ALL_REQUESTS)
    with runtime().sessions() as session:
        try:
            query, page = list_query(None if see_all else current_user.id, request.args)
            error = None
        except InputError as exc:
            query, page = list_query(None if see_all else current_user.id, {})
            error = str(exc)
        rows = session.scalars(query).all()
        return render_template(
            "requests.html",
            rows=rows,
            args=request.args,
            see_all=see_all,
            page=page,
            statuses=[s.value for s in SequenceStatus],
            page_size=PAGE_SIZE,
            error=error,
        ), (400 if error else 200)


def _readable(session, request_id: int) -> Request:
    stored = find_request(session, request_id)
    if stored is None:
        abort(404)
    if not may_read(db_user(session, current_user), stored):
        abort(403)
    return stored


@blueprint.get("/<int:request_id>")
@login_required
def detail(request_id: int):
    with runtime().sessions() as session:
        stored = _readable(session, request_id)
        me = db_user(session, current_user)
        return render_template(
            "request_detail.html",
            r=stored,
            may_change=may_change(me, stored) and changeable(stored),
        )


@blueprint.post("/<int:request_id>/cancel")
@login_required
def cancel(request_id: int):
    rt = runtime()
    with rt.sessions.begin() as session:
        stored = _readable(session, request_id)
        count = cancel_request(stored, db_user(session, current_user), rt.clock.now())
    flash(f"request {request_id} cancelled ({count} sequence(s))")
    return redirect(url_for(".detail", request_id=request_id))


@blueprint.route("/<int:request_id>/edit", methods=["GET", "POST"])
@login_required
def edit(request_id: int):
    """The request as its XML file, to change and send back (the same format as an upload)."""
    rt = runtime()
    with rt.sessions() as session:
        stored = _readable(session, request_id)
        if request.method == "GET":
            if not (may_change(db_user(session, current_user), stored) and changeable(stored)):
                abort(403)
            text = request_to_xml(spec_of_request(stored)).decode()
            return render_template("request_edit.html", r=stored, xml=text)
        text = request.form.get("xml", "")
        upload = request.files.get("xml_file")
        data = upload.read() if upload is not None and upload.filename else text.encode()
        try:
            parsed = parse_request(data, f"request {request_id}")
            try:
                edit_request(
                    session, _builder(), stored, parsed.spec, db_user(session, current_user)
                )
            except InputError as exc:
                raise parsed.locate(exc) from None
            session.commit()
        except PyrosError as exc:
            session.rollback()
            status = 403 if isinstance(exc, Forbidden) else 400
            return render_template(
                "request_edit.html", r=_readable(session, request_id), xml=text, error=str(exc)
            ), status
    flash(f"request {request_id} changed")
    return redirect(url_for(".detail", request_id=request_id))


EXAMPLES_DIR = Path(__file__).resolve().parents[1] / "simulators" / "resources"


@blueprint.post("/fake")
@login_required
def fake_request():
    """Simulation mode only: submit one of the shipped example requests, chosen at random,
    as the logged-in user (its program dropped: the user may be in none)."""
    rt = runtime()
    if not rt.config.simulators.enabled:
        abort(404)
    if not current_user.can(Permission.SUBMIT_REQUEST):
        abort(403)
    examples = sorted(EXAMPLES_DIR.glob("routine_request_*.xml"))
    if not examples:
        abort(404)
    chosen = secrets.choice(examples)
    spec = parse_request(chosen.read_bytes(), chosen.name).spec
    spec.program = None
    done = _builder().submit(rt.sessions, spec, current_user.username, "form")
    flash(f"fake request {done.request_id} submitted from {chosen.name}")
    return redirect(url_for(".detail", request_id=done.request_id))


@blueprint.route("/new", methods=["GET", "POST"])
@login_required
def new_request():
    rt = runtime()
    builder = _builder()
    filters = {ch.value: builder.filters(ch) for ch in Channel}
    form = request.form.to_dict()
    simulated = rt.config.simulators.enabled
    if request.method == "GET":
        return render_template("request_form.html", form=form, filters=filters, simulated=simulated)
    if not current_user.can(Permission.SUBMIT_REQUEST):
        abort(403)
    try:
        upload = request.files.get("xml_file")
        if upload is not None and upload.filename:
            done = submit_xml(
                builder,
                rt.sessions,
                upload.read(),
                upload.filename[:128],
                current_user.username,
                "form",
            )
        else:
            spec = spec_from_mapping(mapping_from_form(form))
            done = builder.submit(rt.sessions, spec, current_user.username, "form")
    except PyrosError as exc:
        status = 403 if isinstance(exc, Forbidden) else 400
        return render_template(
            "request_form.html", form=form, filters=filters, error=str(exc)
        ), status
    return render_template("request_form.html", form=form, filters=filters, done=done), 201
