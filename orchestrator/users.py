"""Users, roles and quotas: who may do what, passwords, and the hours each user and program spend.

Used by the request builder (permission and quota checks), the CLI (`pyros user ...`), the web
API (HTTP basic auth), and the observer, which charges a sequence's hours when it starts
executing and refunds them when it fails for a reason that is not the user's.
A quota is an allocation: `quota_h` hours granted, `used_h` hours spent (executed).
User and program quotas are enforced at submission; a country's hours left and a user level's
priority bonus are applied by the planner when it re-plans (`planner/service.py`).
Partial: a country's quota is not checked at submission, only when planning.
"""

from __future__ import annotations

import enum
import functools
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, object_session
from werkzeug.security import check_password_hash, generate_password_hash

from orchestrator.errors import InputError
from orchestrator.model import (
    Country,
    LoginFailure,
    Request,
    Role,
    ScientificProgram,
    Sequence,
    SequenceStatus,
    User,
    UserLevel,
)


class Forbidden(InputError):
    """The input is well formed but the user may not do this (role, program or quota): HTTP 403."""


class Permission(enum.StrEnum):
    SUBMIT_REQUEST = "submit_request"
    SUBMIT_URGENT = "submit_urgent"  # urgent sequences and alert requests jump the queue
    VIEW_ALL_REQUESTS = "view_all_requests"  # everyone sees their own requests
    ANY_PROGRAM = "any_program"  # charge a program the user is not a member of
    NO_QUOTA = "no_quota"  # staff time is not counted against a quota
    OPERATE = "operate"  # mode, pause, manual device actions
    MANAGE_USERS = "manage_users"


P = Permission
# The roles of seed §7.1 as data, least to most privileged; each includes the one before.
_OBSERVER = frozenset({P.SUBMIT_REQUEST})
_PI = _OBSERVER | {P.SUBMIT_URGENT}
_OPERATOR = _PI | {P.VIEW_ALL_REQUESTS, P.ANY_PROGRAM, P.NO_QUOTA, P.OPERATE}
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.OBSERVER: _OBSERVER,
    Role.PI: _PI,
    Role.OPERATOR: _OPERATOR,
    Role.ADMIN: _OPERATOR | {P.MANAGE_USERS},
}


# Failures that are not the user's fault give the hours back (issue 5: refunded on weather
# or device trouble); a failure due to the request itself (e.g. target below the horizon) does not.
class FailureCause(enum.StrEnum):
    WEATHER = "weather"
    DEVICE = "device"
    PREEMPTED = "preempted"  # an alert took the telescope
    OPERATOR = "operator"
    INTERRUPTED = "interrupted"  # the orchestrator stopped (killed) while it executed
    DISK = "disk"  # the images folder refused a frame (full, quota, read-only)
    REQUEST = "request"


REFUNDED_CAUSES = frozenset(
    {
        FailureCause.WEATHER,
        FailureCause.DEVICE,
        FailureCause.PREEMPTED,
        FailureCause.OPERATOR,
        FailureCause.INTERRUPTED,
        FailureCause.DISK,
    }
)
# Statuses whose hours are promised but not yet charged: they count against the quota at
# submission, so nobody can queue more than they were granted.
PENDING_STATUSES = (
    SequenceStatus.TO_BE_PLANNED,
    SequenceStatus.PLANNED,
    SequenceStatus.UNPLANNABLE,
)
USERNAME_RE = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
MIN_PASSWORD_LENGTH = 8
LOGIN_MAX_FAILURES = 5  # failed log-ins per user name, and per address, within the window
LOGIN_WINDOW_S = 60


def has_permission(user: User, permission: Permission) -> bool:
    return user.is_active and permission in ROLE_PERMISSIONS[Role(user.role)]


def require(user: User, permission: Permission, action: str) -> None:
    if not has_permission(user, permission):
        raise Forbidden(
            "user", f"'{user.username}' (role {Role(user.role).value}) may not {action}"
        )


def hash_password(password: str) -> str:
    return generate_password_hash(password)


def find_user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise InputError("user", f"unknown user {username!r}")
    if not user.is_active:
        raise Forbidden("user", f"{username!r} is deactivated")
    return user


@functools.cache
def _dummy_hash() -> str:
    return generate_password_hash(secrets.token_urlsafe(16))


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active, approved user with this password, else None.

    The same hashing work whether the user exists or not (issue 18: an early return for an
    unknown name told an attacker which names exist, 1.5 ms against 86 ms).
    """
    user = session.scalar(select(User).where(User.username == username))
    stored = user.password_hash if user is not None and user.password_hash else _dummy_hash()
    matches = check_password_hash(stored, password)
    if user is None or not user.is_active or not user.approved or not user.password_hash:
        return None
    return user if matches else None


class Throttled(Forbidden):
    """Too many failed log-ins for this user name or from this address: HTTP 429."""


def _recent_failures(session: Session, column, value: str, since: datetime) -> int:
    return session.scalar(
        select(func.count())
        .select_from(LoginFailure)
        .where(column == value, LoginFailure.when >= since)
    )


def log_in(
    session: Session, username: str, password: str, address: str, now: datetime
) -> User | None:
    """`authenticate`, throttled: after LOGIN_MAX_FAILURES failures within LOGIN_WINDOW_S for the
    user name or from the address, every attempt (even the right password) is refused.

    Used by the web log-in form and the API's HTTP basic auth; commit the session afterwards
    so that a failure is recorded. Raises `Throttled`; returns None on a wrong name or password.
    """
    since = now - timedelta(seconds=LOGIN_WINDOW_S)
    if (
        _recent_failures(session, LoginFailure.username, username[:64], since) >= LOGIN_MAX_FAILURES
        or _recent_failures(session, LoginFailure.address, address[:64], since)
        >= LOGIN_MAX_FAILURES
    ):
        raise Throttled(
            "user",
            f"too many failed log-ins for this user or address: wait {LOGIN_WINDOW_S} s",
        )
    user = authenticate(session, username, password)
    if user is None:
        session.execute(delete(LoginFailure).where(LoginFailure.when < since))
        session.add(LoginFailure(username=username[:64], address=address[:64], when=now))
        session.flush()
    return user


def find_program(session: Session, name: str) -> ScientificProgram:
    program = session.scalar(select(ScientificProgram).where(ScientificProgram.name == name))
    if program is None:
        known = ", ".join(session.scalars(select(ScientificProgram.name).order_by("name")))
        raise InputError("program", f"unknown scientific program {name!r} (known: {known})")
    return program


def add_user(
    session: Session,
    now: datetime,
    username: str,
    role: str,
    password: str,
    country: str | None = None,
    programs: Iterable[str] = (),
    email: str = "",
    quota_h: float | None = None,
) -> User:
    """Create a user; every argument is checked before anything is added."""
    if not USERNAME_RE.match(username):
        raise InputError("username", "1-64 letters, digits or . _ @ - (no spaces)")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise InputError("username", f"{username!r} already exists")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InputError("password", f"must have at least {MIN_PASSWORD_LENGTH} characters")
    level = _level_for_role(session, role)
    country_row = None
    if country is not None:
        country_row = session.scalar(select(Country).where(Country.name == country))
        if country_row is None:
            known = ", ".join(session.scalars(select(Country.name).order_by(Country.name)))
            raise InputError("country", f"unknown country {country!r} (known: {known})")
    program_rows = [find_program(session, name) for name in programs]
    if quota_h is not None and not quota_h >= 0:
        raise InputError("quota_h", f"must be >= 0 hours (got {quota_h})")
    user = User(
        username=username,
        email=email,
        password_hash=hash_password(password),
        quota_h=level.quota_h if quota_h is None else quota_h,
        used_h=0.0,
        created=now,
        country=country_row,
        user_level=level,
        programs=program_rows,
    )
    session.add(user)
    session.flush()
    return user


def _level_for_role(session: Session, role: str) -> UserLevel:
    try:
        wanted = Role(role.lower())
    except ValueError:
        roles = ", ".join(r.value for r in Role)
        raise InputError("role", f"unknown role {role!r} (one of {roles})") from None
    level = session.scalar(select(UserLevel).where(UserLevel.role == wanted).order_by(UserLevel.id))
    if level is None:
        raise InputError("role", f"no user level with role {wanted.value!r}: run `pyros init`")
    return level


def add_program(
    session: Session, name: str, quota_h: float, pi: str | None = None, description: str = ""
) -> ScientificProgram:
    if not name or len(name) > 64:
        raise InputError("name", "a program name has 1-64 characters")
    if session.scalar(select(ScientificProgram.id).where(ScientificProgram.name == name)):
        raise InputError("name", f"program {name!r} already exists")
    if not quota_h >= 0:
        raise InputError("quota_h", f"must be >= 0 hours (got {quota_h})")
    pi_user = find_user(session, pi) if pi else None
    program = ScientificProgram(name=name, description=description, quota_h=quota_h, pi=pi_user)
    if pi_user is not None:
        program.members.append(pi_user)
    session.add(program)
    session.flush()
    return program


@dataclass(frozen=True)
class QuotaState:
    quota_h: float
    used_h: float
    pending_h: float

    @property
    def left_h(self) -> float:
        return self.quota_h - self.used_h - self.pending_h


def quota_exempt(user: User) -> bool:
    """Staff (operator, admin): bypass quotas, and their hours are not charged to a program."""
    return has_permission(user, P.NO_QUOTA)


# Issue 18: an operator's 336 h on ROUTINE must not eat its members' 100 h. Staff hours are
# counted apart: never in a program's pending or used hours (see `staff_h`).
_EXEMPT_ROLES = tuple(r for r, perms in ROLE_PERMISSIONS.items() if P.NO_QUOTA in perms)


def pending_h(
    session: Session,
    user: User | None = None,
    program: ScientificProgram | None = None,
    staff: bool = False,
) -> float:
    """Hours submitted but not yet charged, for one user or one program.

    For a program, only its members' hours (quota-bound users); `staff=True`: only staff's.
    """
    query = (
        select(func.coalesce(func.sum(Sequence.duration_s), 0.0))
        .join(Request, Sequence.request_id == Request.id)
        .where(Sequence.status.in_(PENDING_STATUSES))
    )
    if user is not None:
        query = query.where(Request.user_id == user.id)
    if program is not None:
        query = query.where(Request.program_id == program.id)
        query = query.join(User, Request.user_id == User.id).join(
            UserLevel, User.user_level_id == UserLevel.id
        )
        staff_rows = UserLevel.role.in_(_EXEMPT_ROLES)
        query = query.where(staff_rows if staff else ~staff_rows)
    return float(session.scalar(query)) / 3600.0


def staff_h(session: Session, program: ScientificProgram) -> float:
    """Hours staff requested on a program, pending: shown apart, never charged to its quota."""
    return pending_h(session, program=program, staff=True)


def quota_state(session: Session, owner: User | ScientificProgram) -> QuotaState:
    if isinstance(owner, User):
        return QuotaState(owner.quota_h, owner.used_h, pending_h(session, user=owner))
    return QuotaState(owner.quota_h, owner.used_h, pending_h(session, program=owner))


def check_quota(
    session: Session, user: User, program: ScientificProgram | None, need_h: float
) -> None:
    """Refuse a request whose hours exceed what the user or the program has left.

    The user's and the program's rows are written to first, which locks them until commit
    (a row lock on PostgreSQL, the database write lock on SQLite, whose driver only begins a
    transaction at the first write): two submissions at once cannot both take the last hours.
    """
    if has_permission(user, P.NO_QUOTA):
        return
    owners: list[tuple[str, User | ScientificProgram]] = [(f"user {user.username!r}", user)]
    if program is not None:
        owners.append((f"program {program.name!r}", program))
    for _, owner in owners:  # always user then program: the same order everywhere, no deadlock
        model = type(owner)
        session.execute(
            update(model).where(model.id == owner.id).values(used_h=model.used_h),
            execution_options={"synchronize_session": False},
        )
    for label, owner in owners:
        session.refresh(owner)
        state = quota_state(session, owner)
        if need_h > state.left_h + 1e-9:
            raise Forbidden(
                "quota",
                f"{label} has {max(state.left_h, 0.0):.2f} h left of {state.quota_h:.2f} h "
                f"({state.used_h:.2f} h used, {state.pending_h:.2f} h already requested); "
                f"the request needs {need_h:.2f} h",
            )


def _charge(sequence: Sequence, sign: float) -> None:
    # UPDATE ... SET used_h = used_h + ?, not a Python sum: no charge lost to a concurrent one
    hours = sign * sequence.duration_s / 3600.0
    request = sequence.request
    session = object_session(sequence)
    owners = [request.user]
    if request.program is not None and not quota_exempt(request.user):
        owners.append(request.program)  # staff hours are counted apart (issue 18)
    for owner in owners:
        model = type(owner)
        session.execute(
            update(model).where(model.id == owner.id).values(used_h=model.used_h + hours),
            execution_options={"synchronize_session": False},
        )
        session.expire(owner, ["used_h"])


def start_execution(sequence: Sequence, when: datetime) -> None:
    """Move the sequence to EXECUTING and charge its hours to its user and program."""
    sequence.start(when)
    _charge(sequence, +1.0)


def fail_execution(sequence: Sequence, when: datetime, cause: FailureCause, reason: str) -> bool:
    """Move the sequence to FAILED; refund its hours unless the request itself was at fault.

    Returns whether the hours were refunded.
    """
    sequence.fail(when, f"{FailureCause(cause).value}: {reason}")
    refunded = FailureCause(cause) in REFUNDED_CAUSES
    if refunded:
        _charge(sequence, -1.0)
    return refunded
