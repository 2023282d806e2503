"""Who is asking: the log-in session (Flask-Login), an API token, or HTTP basic auth.

Pages use the session; `/api` also takes `Authorization: Bearer <token>` (tokens made on the
profile page) or HTTP basic (scripts). A write through the API with only the session cookie
must carry the CSRF token (header X-CSRFToken), like a form. A token or basic log-in goes to
the users' history once an hour per user, way and address (a script calls every few seconds).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from functools import wraps

from flask import abort, current_app, g, request
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator.accounts import user_for_token
from orchestrator.model import Role, User
from orchestrator.runtime import Runtime
from orchestrator.users import ROLE_PERMISSIONS, Permission, log_in

login_manager = LoginManager()
login_manager.login_view = "accounts.login"
login_manager.login_message = "Please log in to see this page."
csrf = CSRFProtect()
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
API_LOGIN_EVERY_S = 3600.0  # one history line per (user, way, address) and hour
_api_logins_lock = threading.Lock()


class Unauthorized(Exception):
    """No credentials, or credentials that match no active, approved user: HTTP 401."""


@dataclass
class WebUser:
    """The logged-in user as Flask-Login sees it; re-read from the database on every request."""

    id: int
    username: str
    role: Role
    session_key: str  # changes with the password: logs out every other session
    permissions: frozenset[Permission] = field(default_factory=frozenset)
    is_authenticated: bool = True
    is_active: bool = True
    is_anonymous: bool = False

    @classmethod
    def of(cls, user: User) -> WebUser:
        role = Role(user.role)
        return cls(user.id, user.username, role, _session_key(user), ROLE_PERMISSIONS[role])

    def get_id(self) -> str:
        return f"{self.id}:{self.session_key}"

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions


def _session_key(user: User) -> str:
    return user.password_hash[-12:]


def runtime() -> Runtime:
    return current_app.extensions["pyros_runtime"]


@login_manager.user_loader
def _load_user(user_id: str) -> WebUser | None:
    ident, _, key = user_id.partition(":")
    if not ident.isdigit() or len(ident) > 18:
        return None
    with runtime().sessions() as session:
        user = session.get(User, int(ident))
        if user is None or not user.is_active or not user.approved or _session_key(user) != key:
            return None
        return WebUser.of(user)


def client_address() -> str:
    return request.remote_addr or "?"


def api_user() -> WebUser:
    """The caller of an API route, by session (+CSRF on writes), bearer token or basic auth."""
    if "api_user" in g:
        return g.api_user
    auth = request.authorization
    rt = runtime()
    user: WebUser | None = None
    if auth is not None and auth.type == "bearer" and auth.token:
        with rt.sessions.begin() as session:
            found = user_for_token(session, auth.token, rt.clock.now())
            user = WebUser.of(found) if found else None
    elif auth is not None and auth.type == "basic" and auth.username and auth.password is not None:
        with rt.sessions.begin() as session:
            found = log_in(session, auth.username, auth.password, client_address(), rt.clock.now())
            user = WebUser.of(found) if found else None
    elif current_user.is_authenticated:
        if request.method in WRITE_METHODS:
            csrf.protect()
        user = current_user._get_current_object()
    if user is None:
        raise Unauthorized()
    if auth is not None and auth.type in ("bearer", "basic"):
        _note_api_login(user.username, "API token" if auth.type == "bearer" else "HTTP basic")
    g.api_user = user
    return user


def _note_api_login(username: str, way: str) -> None:
    """The users' history shows API log-ins too, at most once an hour per user, way, address."""
    from web.history import record  # history reads the runtime through this module

    address = client_address()
    key, now = (username, way, address), time.monotonic()
    with _api_logins_lock:  # the app's own memory: one web process, one app
        seen = current_app.extensions.setdefault("pyros_api_logins", {})
        last = seen.get(key)
        if last is not None and now - last < API_LOGIN_EVERY_S:
            return
        seen[key] = now
    record(username, f"logged in by {way} from {address}")


def optional_api_user() -> WebUser | None:
    try:
        return api_user()
    except Unauthorized:
        return None


def db_user(session: Session, web_user: WebUser) -> User:
    return session.scalars(select(User).where(User.id == web_user.id)).one()


def permission_required(permission: Permission):
    """A page decorator: log in first, then 403 unless the role has `permission`."""

    def decorate(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not current_user.can(permission):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorate
