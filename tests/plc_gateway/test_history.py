"""Weather history storage: synthesis only on decision changes, folding into bucket means,
retention, the migration of stored rows, and the environment data read from both tables.

Runs on SQLite and on the real PostgreSQL server (the `runtime` and `db_url` fixtures).
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
from sqlalchemy import func, insert, select, text

from orchestrator import db
from orchestrator.config import parse_config
from orchestrator.errors import ConfigError
from orchestrator.model import SiteWatchHistory, WeatherHistoryBucket
from orchestrator.model.watches import WeatherWatchHistory as H
from plc_gateway.history import fold, maintain
from plc_gateway.parser import parse_status
from plc_gateway.store import WatchStore
from plc_gateway.synthesis import Synthesizer
from tests.conftest import TEST_DATA, make_runtime
from web import create_app

DRY = json.loads((TEST_DATA / "plc" / "status_dry.json").read_text())
PREVIOUS_REVISION = "d9ae4b52d472"  # the head before the history migration


def reading(rain_mm_h: float, temperature_c: float):
    doc = json.loads(json.dumps(DRY))
    for item in doc[0]["device"][0]["values"]:
        if item["name"] == "RainRate":
            item["value"] = rain_mm_h
        if item["name"] == "OutsideTemp":
            item["value"] = temperature_c
    return parse_status(json.dumps(doc))


def row(measured, minute: int, **extra) -> dict:
    """A one-minute history row whose figures are easy to average by hand."""
    return {
        "measured": measured,
        "is_safe": minute % 10 != 3,
        "unsafe_reasons": "",
        "rain_rate_mm_h": float(minute % 10 == 3),
        "wind_speed_m_s": float(minute % 5),
        "wind_direction_deg": 180.0,
        "humidity_pct": 40.0 + minute % 5,
        "temperature_c": float(minute),
        "dew_point_c": -3.0,
        "pressure_hpa": 770.0,
        "sky_minus_ambient_c": None if minute % 5 == 4 else -30.0,
        "synthesis": None,
        **extra,
    }


def test_store_keeps_the_synthesis_only_where_the_decision_changes(runtime, clock):
    synth = Synthesizer(runtime.config.safety)
    store = WatchStore(runtime.sessions, history_period_s=60)
    clock.advance(-3600)
    for minute in range(40):  # reopen delay, then dry, rain at 20-24 min, dry again
        rain = 6.0 if 20 <= minute < 25 else 0.0
        store.store(synth.update(reading(rain, 10 + minute / 10), clock.now()), 2)
        clock.advance(60)
    with runtime.sessions() as session:
        rows = session.execute(select(H.is_safe, H.synthesis).order_by(H.measured)).all()
        sites = session.scalar(select(func.count()).select_from(SiteWatchHistory))
    assert len(rows) == 40
    kept = [i for i, (_, synthesis) in enumerate(rows) if synthesis is not None]
    changes = [i for i in range(1, 40) if rows[i][0] != rows[i - 1][0]]
    assert kept[0] == 0 and set(changes) <= set(kept)  # each verdict change keeps its synthesis
    assert 3 <= len(kept) <= 6 and 20 in kept  # the first rain row (rain_rate turns unsafe)
    assert rows[20][1]["elements"]["rain_rate"]["decision"] == "unsafe"
    assert sites == 1  # the site data never changed


def test_fold_keeps_means_peaks_gaps_and_decision_rows(runtime, clock):
    now = clock.now()  # 04:00
    old = now - timedelta(days=3)  # 3 h of rows three days ago, no rows from 60 to 90 min
    rows = [row(old + timedelta(minutes=m), m) for m in range(180) if not 60 <= m < 90]
    rows[7]["synthesis"] = {"elements": {"rain_rate": {"decision": "unsafe"}}}
    today = [row(now - timedelta(hours=6, minutes=m), m) for m in range(30)]  # 21:31-22:00
    recent = [row(now - timedelta(minutes=m), m) for m in range(1, 11)]  # not settled yet
    with runtime.sessions.begin() as session:
        session.execute(insert(H), rows + today + recent)
    with runtime.sessions.begin() as session:
        buckets, folded, deleted = fold(session, now, full_days=1, bucket_s=300)
    # 30 + 7 five-minute buckets, 3 + 1 hourly ones (22:00 waits for a later fine bucket);
    # the old rows deleted, but one
    assert (buckets, folded, deleted) == (30 + 7 + 3 + 1, 150 + 30, 150 - 1)
    with runtime.sessions() as session:
        stored = session.scalars(
            select(WeatherHistoryBucket).where(WeatherHistoryBucket.period_s == 300)
            .order_by(WeatherHistoryBucket.measured)
        ).all()  # fmt: skip
        hourly = session.scalars(
            select(WeatherHistoryBucket).where(WeatherHistoryBucket.period_s == 3600)
            .order_by(WeatherHistoryBucket.measured)
        ).all()  # fmt: skip
        left = session.execute(select(H.measured, H.synthesis).order_by(H.measured)).all()
    starts = [(b.measured - old).total_seconds() / 60 for b in stored[:30]]
    assert starts == [m for m in range(0, 180, 5) if not 60 <= m < 90]  # the gap stays a gap
    first = stored[0]  # minutes 0-4
    assert first.samples == 5 and first.period_s == 300 and first.unsafe_samples == 1
    assert first.temperature_c == pytest.approx(2.0)  # mean
    assert first.humidity_pct == pytest.approx(42.0)
    assert first.wind_speed_m_s == 4.0 and first.rain_rate_mm_h == 1.0  # maximum
    assert first.sky_minus_ambient_c == pytest.approx(-30.0)  # the null value left out
    assert stored[1].unsafe_samples == 0
    assert [h.samples for h in hourly] == [60, 30, 60, 29] and hourly[0].measured == old
    assert hourly[1].temperature_c == pytest.approx(104.5)  # minutes 90-119 only
    assert hourly[0].unsafe_samples == 6 and hourly[0].wind_speed_m_s == 4.0
    assert hourly[0].sky_minus_ambient_c == pytest.approx(-30.0)  # weighted, nulls left out
    # rows older than a day are gone, except the decision change (kept with its synthesis);
    # today's folded rows stay at full resolution
    assert len(left) == 1 + len(today) + len(recent) and left[0][1]["elements"]["rain_rate"]
    with runtime.sessions.begin() as session:
        assert fold(session, now, full_days=1, bucket_s=300) == (0, 0, 0)  # nothing twice
    with runtime.sessions.begin() as session:  # an hour later: the recent rows, once
        assert fold(session, now + timedelta(hours=1), full_days=1, bucket_s=300)[1] == 10
    # after a month without rows, a pass folds the new ones (the hole is skipped, not walked)
    later = now + timedelta(days=30)
    with runtime.sessions.begin() as session:
        session.execute(
            insert(H), [row(later - timedelta(hours=1, minutes=m), m) for m in range(5)]
        )
    upkeep = maintain(runtime.sessions, later, runtime.config.gateway)
    assert upkeep.rows_folded == 5


def test_retention_deletes_everything_older(runtime, clock):
    now = clock.now()
    config = runtime.config.gateway.model_copy(
        update={"history_full_days": 1, "history_retention_days": 2}
    )
    rows = [row(now - timedelta(days=3, minutes=m), m, synthesis={"x": 1}) for m in range(20)]
    rows += [row(now - timedelta(days=1, hours=1, minutes=m), m) for m in range(20)]
    with runtime.sessions.begin() as session:
        session.execute(insert(H), rows)
        session.add(SiteWatchHistory(measured=now - timedelta(days=5), is_safe=True, synthesis={}))
    upkeep = maintain(runtime.sessions, now, config)
    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(H)) == 0
        assert session.scalar(select(func.count()).select_from(SiteWatchHistory)) == 0
        oldest = session.scalar(select(func.min(WeatherHistoryBucket.measured)))
    assert upkeep.rows_folded == 40 and oldest >= now - timedelta(days=2)
    # 20 folded rows a day old, the 20 decision rows (03:41-04:00) and the site row past the
    # retention, with their 5 five-minute buckets and 2 hourly ones
    assert upkeep.rows_deleted == 20 + 20 + 1 + 5 + 2


def test_environment_reads_buckets_and_recent_rows_with_gaps_and_unsafe_periods(runtime, clock):
    now = clock.now()
    old = now - timedelta(days=3)
    rows = [row(old + timedelta(minutes=m), m) for m in range(180) if not 60 <= m < 90]
    rows += [row(now - timedelta(minutes=m), 1) for m in range(0, 120)]  # safe, recent
    with runtime.sessions.begin() as session:
        session.execute(insert(H), rows)
    client = create_app(runtime).test_client()
    before = client.get("/api/environment?hours=125").get_json()
    maintain(runtime.sessions, now, runtime.config.gateway.model_copy(
        update={"history_full_days": 1}))  # fmt: skip
    after = client.get("/api/environment?hours=125").get_json()
    assert after["bucket_s"] == before["bucket_s"] == 300
    assert after["history"] == before["history"]  # folding changes no plotted point
    points = after["history"]
    nulls = [p for p in points if p["temperature_c"] is None]
    assert len(nulls) == 2  # the hour-long hole and the 3-day hole, each broken once
    assert nulls[0]["t"] == (old + timedelta(minutes=60)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert all(v is None for v in nulls[0].values() if v != nulls[0]["t"])
    assert points[0]["temperature_c"] == pytest.approx(2.0)
    periods = after["unsafe_periods"]
    assert len(periods) == 15  # one unsafe minute in ten: every other 5-minute bucket
    assert periods[0] == {
        "start": old.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "end": (old + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    day = client.get("/api/environment?hours=24").get_json()
    assert len(day["history"]) == 120 and day["unsafe_periods"] == []


def test_migration_keeps_the_synthesis_where_the_decision_changed(tmp_path, clock, db_url):
    runtime = make_runtime(tmp_path, clock, db_url)
    db.upgrade(runtime.engine, PREVIOUS_REVISION)
    safe = [True, True, False, False, True, True]
    with runtime.engine.begin() as connection:
        for minute, is_safe in enumerate(safe):
            connection.execute(
                text(
                    "INSERT INTO weather_watch_history (measured, is_safe, unsafe_reasons,"
                    " synthesis) VALUES (:m, :s, :r, :j)"
                ),
                {"m": clock.now() + timedelta(minutes=minute), "s": is_safe,
                 "r": "" if is_safe else "rain", "j": json.dumps({"n": minute})},
            )  # fmt: skip
    db.upgrade(runtime.engine)
    query = text("SELECT synthesis FROM weather_watch_history ORDER BY measured")
    with runtime.engine.connect() as connection:
        kept = [r[0] for r in connection.execute(query)]
    kept = [json.loads(k) if isinstance(k, str) else k for k in kept]
    assert kept == [{"n": 0}, None, {"n": 2}, None, {"n": 4}, None]
    db.downgrade(runtime.engine, PREVIOUS_REVISION)
    with runtime.engine.connect() as connection:
        kept = [r[0] for r in connection.execute(query)]
    kept = [json.loads(k) if isinstance(k, str) else k for k in kept]
    assert kept == [{"n": 0}, {}, {"n": 2}, {}, {"n": 4}, {}]
    runtime.engine.dispose()


@pytest.mark.parametrize(
    ("toml", "key", "reason"),
    [
        ("history_retention_days = 10\n", "gateway", "history_retention_days (10) must be >="),
        ("history_bucket_s = 30\n", "gateway.history_bucket_s", "greater than or equal to 60"),
        ("history_period_s = 600\nhistory_bucket_s = 300\n", "gateway", "history_bucket_s"),
        ("history_full_days = 0.5\n", "gateway.history_full_days", "greater than or equal to 1"),
    ],
)
def test_bad_history_settings_name_the_key(tmp_path, toml, key, reason):
    with pytest.raises(ConfigError) as excinfo:
        parse_config("[gateway]\n" + toml, tmp_path)  # an overlay on the shipped default
    assert excinfo.value.key == key and reason in excinfo.value.reason


def test_the_gateway_upkeep_job_folds_and_survives_a_missing_table(runtime, clock, caplog):
    from plc_gateway.server import Gateway

    caplog.set_level(logging.INFO, logger="plc_gateway.server")
    now = clock.now()
    with runtime.sessions.begin() as session:
        session.execute(insert(H), [row(now - timedelta(days=40, minutes=m), m) for m in range(30)])
    gateway = Gateway(runtime.config, clock, runtime.sessions)  # not started: no thread, no port
    gateway.maintain_history()
    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(H)) == 0  # older than 30 days
        fine = select(func.sum(WeatherHistoryBucket.samples)).where(
            WeatherHistoryBucket.period_s == 300
        )
        assert session.scalar(fine) == 30
    assert "30 rows folded" in caplog.text
    with runtime.engine.begin() as connection:
        connection.execute(text("DROP TABLE weather_history_bucket"))
    gateway.maintain_history()  # logged, not raised: serving safety goes on
    assert "weather history upkeep failed" in caplog.text
