"""Web accounts: per-user API tokens (stored hashed), login failures (the throttle), site secrets.

A user registered on the web waits for an admin's approval (`User.approved`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from orchestrator.model.base import Base, UTCDateTime
from orchestrator.model.users import User


class ApiToken(Base):
    """A bearer token for scripts; only its SHA-256 is stored, shown once at creation."""

    __tablename__ = "api_token"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class LoginFailure(Base):
    """One failed log-in: counted per user name and per address over a sliding window."""

    __tablename__ = "login_failure"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    address: Mapped[str] = mapped_column(String(64), index=True)
    when: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class SiteSecret(Base):
    """Secrets generated once per site (the web session key), shared by every web process."""

    __tablename__ = "site_secret"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str] = mapped_column(String(128))
