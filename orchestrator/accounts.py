"""Web accounts: registration awaiting approval, per-user API tokens, the site's session secret.

A token is shown once at creation and stored as its SHA-256 (a random 256-bit token needs no
slow hash); revoking keeps the row so the profile page can show when it was revoked.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from orchestrator.errors import InputError
from orchestrator.model import ApiToken, Role, SiteSecret, User
from orchestrator.users import add_user

TOKEN_PREFIX = "pyros_"
MAX_TOKENS_PER_USER = 20


def register(session: Session, now: datetime, username: str, password: str, email: str) -> User:
    """A new observer account that may not log in until an admin approves it."""
    if len(email) > 254:
        raise InputError("email", "at most 254 characters")
    user = add_user(session, now, username, Role.OBSERVER.value, password, email=email)
    user.approved = False
    session.flush()
    return user


def _sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, user: User, name: str, now: datetime) -> tuple[ApiToken, str]:
    """A new token for `user`; returns the row and the token text (shown once)."""
    name = name.strip()
    if not 1 <= len(name) <= 64:
        raise InputError("name", "a token name has 1-64 characters")
    live = session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked.is_(None))
    ).all()
    if len(live) >= MAX_TOKENS_PER_USER:
        raise InputError("name", f"at most {MAX_TOKENS_PER_USER} live tokens: revoke one first")
    text = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, name=name, token_sha256=_sha256(text), created=now)
    session.add(row)
    session.flush()
    return row, text


def revoke_token(session: Session, user: User, token_id: int, now: datetime) -> None:
    row = session.get(ApiToken, token_id)
    if row is None or row.user_id != user.id:
        raise InputError("token", f"no token {token_id} of {user.username!r}")
    if row.revoked is None:
        row.revoked = now


def user_for_token(session: Session, text: str, now: datetime) -> User | None:
    """The active, approved owner of a live token, else None; notes when it was last used."""
    if not text.startswith(TOKEN_PREFIX) or len(text) > 128:
        return None
    row = session.scalar(select(ApiToken).where(ApiToken.token_sha256 == _sha256(text)))
    if row is None or row.revoked is not None:
        return None
    user = row.user
    if not user.is_active or not user.approved:
        return None
    row.last_used = now
    return user


def site_secret(session: Session, name: str) -> str:
    """The named secret of this site, generated on first use and stored in the database."""
    row = session.get(SiteSecret, name)
    if row is not None:
        return row.value
    session.add(SiteSecret(name=name, value=secrets.token_hex(32)))
    try:
        session.commit()
    except IntegrityError:  # another web process made it first: use theirs
        session.rollback()
    return session.get(SiteSecret, name).value
