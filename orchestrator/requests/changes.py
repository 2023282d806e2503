"""Editing and cancelling a stored request (seed §7.1 REQUEST CRUD), for the web pages and API.

Both are refused once any sequence has started (executing or done): the night's record must
stay what was executed. An edit replaces the sequences through the same request builder checks
as a submission (the old pending hours are released first, so the quota is counted once).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from orchestrator.errors import InputError
from orchestrator.model import Request, SequenceStatus, User
from orchestrator.requests.builder import RequestBuilder, _sequence_row
from orchestrator.requests.spec import RequestSpec
from orchestrator.users import PENDING_STATUSES, Forbidden, Permission, has_permission

S = SequenceStatus


def find_request(session: Session, request_id: int) -> Request | None:
    """The request, or None (also for ids no database column can hold)."""
    if not 1 <= request_id < 2**63:
        return None
    return session.get(Request, request_id)


def may_read(user: User, request: Request) -> bool:
    return request.user_id == user.id or has_permission(user, Permission.VIEW_ALL_REQUESTS)


def may_change(user: User, request: Request) -> bool:
    return request.user_id == user.id or has_permission(user, Permission.OPERATE)


def changeable(request: Request) -> bool:
    """Not started: every sequence still waits (to be planned, planned or unplannable)."""
    return all(S(s.status) in PENDING_STATUSES for s in request.sequences)


def _check(user: User, request: Request, action: str) -> None:
    if not user.is_active:
        raise Forbidden("user", f"{user.username!r} is deactivated")
    if not may_change(user, request):
        raise Forbidden("request", f"{user.username!r} may not {action} request {request.id}")
    if not changeable(request):
        states = ", ".join(sorted({S(s.status).value for s in request.sequences}))
        raise InputError(
            "request",
            f"request {request.id} can no longer be {action}ed: its sequences are {states} "
            "(only waiting ones can change)",
        )


def cancel_request(request: Request, user: User, now: datetime) -> int:
    """Cancel every sequence of a request that has not started; returns how many."""
    _check(user, request, "cancel")
    for sequence in request.sequences:
        sequence.cancel(now, f"cancelled by {user.username}")
    return len(request.sequences)


def edit_request(
    session: Session, builder: RequestBuilder, request: Request, spec: RequestSpec, user: User
) -> None:
    """Replace the request's name, program and sequences by `spec` (all checks of a submission).

    The quota and role checks are those of the request's owner; `user` is who edits.
    """
    _check(user, request, "edit")
    if spec.is_alert != request.is_alert:
        raise InputError("is_alert", "cannot change whether a request is an alert")
    builder.validate(spec)
    request.sequences.clear()  # its planned entries go with it (ON DELETE CASCADE)
    session.flush()
    program = builder.authorize(session, spec, request.user)
    request.name = spec.name
    request.program = program
    request.sequences.extend(_sequence_row(seq) for seq in spec.sequences)
    session.flush()
