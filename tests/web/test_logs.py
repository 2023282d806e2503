# ruff: noqa: F811 - the shared fixtures are imported from request_helpers, then requested by name
"""The log page and API: operators only, filtered by source, lowest level and time range."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from orchestrator.model import LogEntry
from tests.orchestrator.request_helpers import PASSWORD, site  # noqa: F401 - site is a fixture
from tests.web.helpers import web_client

T0 = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)


def test_logs_are_filtered_and_for_operators_only(site):
    with site.sessions.begin() as session:
        for i, (level, source) in enumerate(
            [("INFO", "planner"), ("WARNING", "planner"), ("ERROR", "gateway"), ("INFO", "web")]
        ):
            session.add(
                LogEntry(time=T0 + timedelta(minutes=i), level=level, source=source,
                         message=f"message {i}")
            )  # fmt: skip
    assert web_client(site, "alice", PASSWORD).get("/logs").status_code == 403
    oscar = web_client(site, "oscar", PASSWORD)
    every = oscar.get("/api/logs").json["logs"]
    assert every[0]["source"] == "web.users" and every[0]["message"].startswith("oscar logged in")
    every = [e for e in every if e["source"] != "web.users"]  # the users' history lines
    assert [e["message"] for e in every] == [f"message {i}" for i in (3, 2, 1, 0)]
    warnings = oscar.get("/api/logs?level=warning").json["logs"]
    assert [e["level"] for e in warnings] == ["ERROR", "WARNING"]
    planner = oscar.get("/api/logs?source=planner&since=2026-11-25T03:01:00Z").json["logs"]
    assert [e["message"] for e in planner] == ["message 1"]
    bad = oscar.get("/api/logs?until=2026-11-25T03:00")
    assert bad.status_code == 400 and bad.json["field"] == "until"
    page = oscar.get("/logs?level=error").get_data(as_text=True)
    assert "message 2" in page and "message 1" not in page
