"""Shared by the request tests: the example files, a demo site with users, row counts.

The tests run on the `clock` fixture (ManualClock at 2026-11-25 04:00 UTC), so the example
windows (which end in 2027) never fall into the past as the years go by.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from orchestrator.bootstrap import init_site
from orchestrator.model import Album, Plan, Request, Sequence
from orchestrator.requests.builder import RequestBuilder
from orchestrator.runtime import Runtime
from orchestrator.users import add_user

REPO = Path(__file__).resolve().parents[2]
EXAMPLES_DIR = REPO / "simulators" / "resources"
EXAMPLES = sorted(EXAMPLES_DIR.glob("routine_request_*.xml"))
ADMIN_PASSWORD = "admin-password-1"
PASSWORD = "night-sky-2026"
# name: (role, programs, quota in hours or None for the role's default)
USERS = {
    "alice": ("observer", ("ROUTINE",), None),
    "paula": ("pi", ("GRB", "ROUTINE"), None),
    "oscar": ("operator", (), None),
}


def example(number: int) -> bytes:
    return (EXAMPLES_DIR / f"routine_request_{number:02d}.xml").read_bytes()


def variant(number: int, old: str, new: str) -> bytes:
    """An example with one text change (checked to apply, so a test cannot silently pass)."""
    text = example(number).decode()
    assert old in text, f"{old!r} not in routine_request_{number:02d}.xml"
    return text.replace(old, new, 1).encode()


def row_counts(runtime: Runtime) -> dict[str, int]:
    with runtime.sessions() as session:
        return {
            model.__tablename__: session.scalar(select(func.count()).select_from(model))
            for model in (Request, Sequence, Album, Plan)
        }


@pytest.fixture
def site(runtime: Runtime) -> Runtime:
    """The demo site of `pyros init` (levels, countries, GRB/ROUTINE programs) and three users."""
    init_site(runtime, ADMIN_PASSWORD)
    with runtime.sessions.begin() as session:
        for name, (role, programs, quota) in USERS.items():
            add_user(
                session,
                runtime.clock.now(),
                name,
                role,
                PASSWORD,
                country="Mexico",
                programs=programs,
                quota_h=quota,
            )
    return runtime


@pytest.fixture
def builder(site: Runtime) -> RequestBuilder:
    return RequestBuilder(site.config, site.clock)
