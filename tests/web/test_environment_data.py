"""`/api/environment` as the page uses it: the incremental `since` answer, gaps as null points,
unsafe periods, and bad parameters refused naming the field (SQLite; both databases are run
by tests/plc_gateway/test_history.py and test_environment_page.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert

from orchestrator import db
from orchestrator.clock import ManualClock
from orchestrator.model.watches import WeatherWatchHistory as H
from tests.conftest import make_runtime
from web import create_app

ISO = "%Y-%m-%dT%H:%M:%SZ"


def _row(measured, is_safe: bool, temperature_c: float) -> dict:
    return {
        "measured": measured, "is_safe": is_safe, "unsafe_reasons": "",
        "rain_rate_mm_h": 0.0 if is_safe else 2.0, "wind_speed_m_s": 3.0,
        "wind_direction_deg": 200.0, "humidity_pct": 50.0, "temperature_c": temperature_c,
        "dew_point_c": 0.0, "pressure_hpa": 769.0, "sky_minus_ambient_c": -39.0,
    }  # fmt: skip


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    """Two hours of one-minute rows ending now, unsafe 30 min in the middle, a 20-min hole
    (one database for the module: the tests only read)."""
    tmp_path = tmp_path_factory.mktemp("environment")
    clock = ManualClock(datetime(2026, 11, 25, 4, 0, tzinfo=UTC))
    runtime = make_runtime(tmp_path, clock, f"sqlite:///{tmp_path / 'pyros.db'}")
    db.upgrade(runtime.engine)
    now = clock.now()
    rows = [
        _row(now - timedelta(minutes=m), not 40 <= m < 70, float(m))
        for m in range(120)
        if not 10 <= m < 30
    ]
    with runtime.sessions.begin() as session:
        session.execute(insert(H), rows)
    runtime.test_now = now
    yield create_app(runtime).test_client()
    runtime.engine.dispose()


def test_history_has_null_points_in_gaps_and_the_unsafe_periods(client):
    data = client.get("/api/environment?hours=3").get_json()
    points = data["history"]
    assert len(points) == 100 + 1  # the rows and one null point in the hole
    hole = [p for p in points if p["temperature_c"] is None]
    assert len(hole) == 1 and hole[0]["is_safe"] is None
    now = points[-1]["t"]
    assert hole[0]["t"] == _minus(now, 29)  # a step after the last row before the hole
    assert data["unsafe_periods"] == [
        {"start": _minus(now, 69), "end": _minus(now, 39)}  # ends at the first safe row
    ]
    assert data["bucket_s"] is None  # a day or less: every stored row


def _minus(iso: str, minutes: int) -> str:
    return (
        datetime.fromisoformat(iso.replace("Z", "+00:00")) - timedelta(minutes=minutes)
    ).strftime(ISO)


def test_since_returns_only_newer_points_and_a_gap_since(client):
    full = client.get("/api/environment?hours=24").get_json()["history"]
    last = full[-6]["t"]
    newer = client.get("/api/environment", query_string={"since": last}).get_json()
    assert [p["t"] for p in newer["history"]] == [p["t"] for p in full[-5:]]
    assert newer["unsafe_periods"] == []
    # the page had nothing since before the hole: the answer starts with the gap's null point
    before_hole = _minus(full[-1]["t"], 30)  # the last row before the hole
    answer = client.get("/api/environment", query_string={"since": before_hole}).get_json()
    first = answer["history"][0]
    assert first["temperature_c"] is None and first["t"] > before_hole
    assert answer["history"][1]["t"] == _minus(full[-1]["t"], 9)
    # nothing newer: an empty list, not the whole day again
    assert (
        client.get("/api/environment", query_string={"since": full[-1]["t"]}).get_json()["history"]
        == []
    )


def test_bucketed_answers_also_go_incremental(client):
    week = client.get("/api/environment?hours=168").get_json()
    assert week["bucket_s"] == 420 and all(p["t"].endswith("Z") for p in week["history"])
    last = week["history"][-3]["t"]
    newer = client.get("/api/environment", query_string={"hours": 168, "since": last}).get_json()
    # from the bucket holding `since` (it may have grown): the client replaces it
    assert [p["t"] for p in newer["history"]] == [p["t"] for p in week["history"][-3:]]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("hours=abc", "hours"),
        ("hours=0", "hours"),
        ("hours=-5", "hours"),
        ("hours=nan", "hours"),
        ("hours=inf", "hours"),
        ("hours=1e9", "hours"),
        ("since=yesterday", "since"),
        ("since=2026-11-25T00:00:00", "since"),  # no zone
    ],
)
def test_bad_parameters_are_refused_naming_the_field(client, query, field):
    response = client.get(f"/api/environment?{query}")
    assert response.status_code == 400
    body = response.get_json()
    assert body["field"] == field and body["error"].startswith(f"{field}:")
