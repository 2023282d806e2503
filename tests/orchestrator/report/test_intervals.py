"""Interval arithmetic of the night report (dark, safe and shutter-open time)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from orchestrator.report.intervals import intersect, subtract, total_s, union

T0 = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


def span(a_min: float, b_min: float):
    return (T0 + timedelta(minutes=a_min), T0 + timedelta(minutes=b_min))


def test_union_merges_overlapping_and_touching_and_drops_empty():
    assert union([span(5, 8), span(0, 2), span(2, 3), span(7, 9), span(4, 4)]) == [
        span(0, 3),
        span(5, 9),
    ]


def test_intersect_and_subtract_split_where_they_must():
    dark, safe = [span(0, 60)], [span(-10, 20), span(30, 45), span(50, 90)]
    assert intersect(dark, safe) == [span(0, 20), span(30, 45), span(50, 60)]
    assert subtract(dark, safe) == [span(20, 30), span(45, 50)]
    assert total_s(intersect(dark, safe)) + total_s(subtract(dark, safe)) == 3600.0
    assert intersect(dark, []) == [] and subtract(dark, []) == dark
