"""Accounts: register (waits for an admin's approval), log in / out, profile, password, tokens.

Every form carries the CSRF token (Flask-WTF's CSRFProtect checks each POST); log-ins are
throttled per user name and per address (`orchestrator.users.log_in`).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select

from orchestrator.accounts import create_token, register, revoke_token
from orchestrator.errors import InputError, PyrosError
from orchestrator.model import ApiToken
from orchestrator.users import (
    MIN_PASSWORD_LENGTH,
    Forbidden,
    Throttled,
    authenticate,
    hash_password,
    log_in,
    quota_state,
)
from web.auth import WebUser, client_address, db_user, runtime
from web.history import record

blueprint = Blueprint("accounts", __name__)
MAX_FIELD = 254


def _field(name: str, max_length: int = MAX_FIELD) -> str:
    value = request.form.get(name, "")
    if len(value) > max_length:
        raise InputError(name, f"at most {max_length} characters")
    return value


def _safe_next(target: str | None) -> str:
    """Only a path of this site (no open redirect to another host)."""
    if target and target.startswith("/") and not target.startswith("//"):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("dashboard.index")


@blueprint.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "GET":
        return render_template("login.html", next=request.args.get("next", ""))
    rt = runtime()
    username = request.form.get("username", "")[:64]
    try:
        with rt.sessions.begin() as session:
            user = log_in(
                session, username, _field("password", 1024), client_address(), rt.clock.now()
            )
            web_user = WebUser.of(user) if user else None
    except (Throttled, InputError) as exc:
        status = 429 if isinstance(exc, Throttled) else 400
        return render_template("login.html", error=str(exc), username=username), status
    if web_user is None:
        error = "user: unknown user name, wrong password, or account not approved yet"
        return render_template("login.html", error=error, username=username), 401
    login_user(web_user)
    record(web_user.username, f"logged in from {client_address()}")
    return redirect(_safe_next(request.form.get("next")))


@blueprint.post("/logout")
def logout():
    if current_user.is_authenticated:
        record(current_user.username, f"logged out from {client_address()}")
    logout_user()
    return redirect(url_for("dashboard.index"))


@blueprint.route("/register", methods=["GET", "POST"])
def register_page():
    if request.method == "GET":
        return render_template("register.html", form={})
    rt = runtime()
    form = {k: request.form.get(k, "")[:MAX_FIELD] for k in ("username", "email")}
    try:
        password = _field("password", 1024)
        if password != request.form.get("password2", ""):
            raise InputError("password2", "the two passwords differ")
        with rt.sessions.begin() as session:
            register(session, rt.clock.now(), form["username"], password, _field("email"))
    except PyrosError as exc:
        return render_template("register.html", form=form, error=str(exc)), 400
    return render_template("register.html", form={}, done=form["username"]), 201


@blueprint.route("/profile", methods=["GET", "POST"])
@login_required
def profile():
    rt = runtime()
    new_token = None
    error = None
    status = 200
    with rt.sessions() as session:
        user = db_user(session, current_user)
        if request.method == "POST":
            try:
                action = request.form.get("action", "")
                if action == "profile":
                    user.email = _field("email")
                    user.first_name = _field("first_name", 64)
                    user.last_name = _field("last_name", 64)
                    flash("profile saved")
                elif action == "token":
                    _, new_token = create_token(session, user, _field("name", 64), rt.clock.now())
                elif action == "revoke":
                    raw = request.form.get("token_id", "")
                    if not raw.isdigit() or len(raw) > 18:
                        raise InputError("token_id", f"must be a token id (got {raw[:20]!r})")
                    revoke_token(session, user, int(raw), rt.clock.now())
                    flash("token revoked")
                else:
                    raise InputError("action", f"unknown action {action[:20]!r}")
                session.commit()
            except PyrosError as exc:
                session.rollback()
                user = db_user(session, current_user)
                error, status = str(exc), 400
        tokens = session.scalars(
            select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id)
        ).all()
        quota = quota_state(session, user)
        return render_template(
            "profile.html",
            user=user,
            tokens=tokens,
            quota=quota,
            new_token=new_token,
            error=error,
        ), status


@blueprint.route("/password", methods=["GET", "POST"])
@login_required
def password():
    if request.method == "GET":
        return render_template("password.html")
    rt = runtime()
    try:
        new = _field("new_password", 1024)
        if len(new) < MIN_PASSWORD_LENGTH:
            raise InputError("new_password", f"must have at least {MIN_PASSWORD_LENGTH} characters")
        if new != request.form.get("new_password2", ""):
            raise InputError("new_password2", "the two new passwords differ")
        with rt.sessions.begin() as session:
            if authenticate(session, current_user.username, _field("password", 1024)) is None:
                raise Forbidden("password", "the current password is wrong")
            user = db_user(session, current_user)
            user.password_hash = hash_password(new)
            web_user = WebUser.of(user)
    except PyrosError as exc:
        status = 403 if isinstance(exc, Forbidden) else 400
        return render_template("password.html", error=str(exc)), status
    login_user(web_user)  # this session stays; every other one is logged out
    flash("password changed")
    return redirect(url_for("accounts.profile"))
