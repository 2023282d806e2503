"""`pyros init`: create or upgrade the database and load the demo site (idempotent)."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from orchestrator import db
from orchestrator.model import Country, MajordomeState, Role, ScientificProgram, User, UserLevel
from orchestrator.runtime import Runtime

log = logging.getLogger(__name__)

ADMIN_USERNAME = "admin"
ALERT_LEVEL = "operator"  # alerts jump the queue (urgent) and are staff time (no quota)
DEMO_COUNTRIES = ("France", "Mexico", "China")
DEMO_LEVELS = {  # name: (role, priority bonus, default quota in hours)
    "observer": (Role.OBSERVER, 0, 10.0),
    "pi": (Role.PI, 1, 50.0),
    "operator": (Role.OPERATOR, 0, 0.0),
    "admin": (Role.ADMIN, 0, 0.0),
}
DEMO_PROGRAMS = {  # name: (description, quota in hours, priority)
    "GRB": ("Gamma-ray burst follow-up (SVOM and others)", 200.0, 10),
    "ROUTINE": ("Routine observations of the demo site", 100.0, 0),
}


@dataclass(frozen=True)
class InitResult:
    revision: str | None
    admin_created: bool
    admin_password: str | None  # only when generated here, to be shown once


def init_site(runtime: Runtime, admin_password: str | None) -> InitResult:
    """Upgrade the schema to head, then add whatever demo rows are missing."""
    for folder in runtime.config.folders.model_dump().values():
        folder.mkdir(parents=True, exist_ok=True)
    db.upgrade(runtime.engine)
    generated = None
    with runtime.sessions.begin() as session:
        now = runtime.clock.now()
        countries = {c.name: c for c in session.scalars(select(Country))}
        site_country = runtime.config.site.country
        for name in (*DEMO_COUNTRIES, *([site_country] if site_country else [])):
            if name not in countries:
                countries[name] = Country(name=name)
                session.add(countries[name])
        levels = {lv.name: lv for lv in session.scalars(select(UserLevel))}
        for name, (role, priority, quota) in DEMO_LEVELS.items():
            if name not in levels:
                levels[name] = UserLevel(name=name, role=role, priority=priority, quota_h=quota)
                session.add(levels[name])
        programs = {p.name: p for p in session.scalars(select(ScientificProgram))}
        for name, (description, quota, priority) in DEMO_PROGRAMS.items():
            if name not in programs:
                programs[name] = ScientificProgram(
                    name=name, description=description, quota_h=quota, priority=priority
                )
                session.add(programs[name])
        telescope = runtime.config.telescope.name  # a network: each telescope has its row
        if (
            session.scalar(select(MajordomeState).where(MajordomeState.telescope == telescope))
            is None
        ):
            session.add(MajordomeState(telescope=telescope, updated=now))
        _ensure_alert_user(runtime, session, levels[ALERT_LEVEL], programs, now)
        # The console's admin belongs to the host country (none when the site names none).
        admin_country = countries.get(site_country) if site_country else None
        admin_created = _ensure_admin(session, levels["admin"], admin_country, now)
        if admin_created:
            if admin_password is None:
                generated = admin_password = secrets.token_urlsafe(12)
            admin_created.password_hash = generate_password_hash(admin_password)
    log.info("database ready at revision %s", db.current_revision(runtime.engine))
    return InitResult(db.current_revision(runtime.engine), bool(admin_created), generated)


def _ensure_admin(session: Session, level: UserLevel, country: Country | None, now) -> User | None:
    if session.scalar(select(User).where(User.username == ADMIN_USERNAME)) is not None:
        return None
    admin = User(
        username=ADMIN_USERNAME, user_level=level, country=country, created=now, quota_h=0.0
    )
    session.add(admin)
    return admin


def _ensure_alert_user(
    runtime: Runtime, session: Session, level: UserLevel, programs: dict, now
) -> None:
    """The user the alert manager submits as, member of the configured alert program."""
    alerts = runtime.config.alerts
    user = session.scalar(select(User).where(User.username == alerts.username))
    if user is None:
        user = User(username=alerts.username, user_level=level, created=now, quota_h=0.0)
        session.add(user)
    program = programs.get(alerts.program)
    if program is None:
        program = ScientificProgram(name=alerts.program, description="Alert follow-up")
        programs[alerts.program] = program
        session.add(program)
    if user not in program.members:
        program.members.append(user)
