"""Users, their countries and levels (roles), and the scientific programs that hold quotas."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Column, Enum, ForeignKey, String, Table, Text, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from orchestrator.model.base import Base


class Role(enum.StrEnum):
    """User levels of seed §7.1, least to most privileged."""

    OBSERVER = "observer"
    PI = "pi"
    OPERATOR = "operator"
    ADMIN = "admin"


program_members = Table(
    "program_member",
    Base.metadata,
    Column("user_id", ForeignKey("user.id", ondelete="CASCADE"), primary_key=True),
    Column("program_id", ForeignKey("scientific_program.id", ondelete="CASCADE"), primary_key=True),
)


class Country(Base):
    __tablename__ = "country"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    quota_h: Mapped[float] = mapped_column(default=0.0)


class UserLevel(Base):
    __tablename__ = "user_level"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(32), unique=True)
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=16))
    priority: Mapped[int] = mapped_column(default=0)  # added to the priority of its requests
    quota_h: Mapped[float] = mapped_column(default=0.0)


class User(Base):
    __tablename__ = "user"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(254), default="")
    first_name: Mapped[str] = mapped_column(String(64), default="")
    last_name: Mapped[str] = mapped_column(String(64), default="")
    password_hash: Mapped[str] = mapped_column(String(256), default="")
    is_active: Mapped[bool] = mapped_column(default=True)
    # registered on the web and not yet approved by an admin: may not log in
    approved: Mapped[bool] = mapped_column(default=True, server_default=true())
    quota_h: Mapped[float] = mapped_column(default=0.0)  # hours this user may still spend
    used_h: Mapped[float] = mapped_column(default=0.0)
    created: Mapped[datetime]
    country_id: Mapped[int | None] = mapped_column(ForeignKey("country.id"))
    user_level_id: Mapped[int] = mapped_column(ForeignKey("user_level.id"))

    country: Mapped[Country | None] = relationship()
    user_level: Mapped[UserLevel] = relationship()
    programs: Mapped[list[ScientificProgram]] = relationship(
        secondary=program_members, back_populates="members"
    )

    @property
    def role(self) -> Role:
        return self.user_level.role


class ScientificProgram(Base):
    __tablename__ = "scientific_program"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    quota_h: Mapped[float] = mapped_column(default=0.0)
    used_h: Mapped[float] = mapped_column(default=0.0)
    priority: Mapped[int] = mapped_column(default=0)
    pi_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    pi: Mapped[User | None] = relationship(foreign_keys=[pi_id])
    members: Mapped[list[User]] = relationship(secondary=program_members, back_populates="programs")
