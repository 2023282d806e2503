import time
from datetime import UTC, datetime, timedelta

import pytest

from orchestrator.clock import ManualClock, RealClock, SimulatedClock, clock_from_config

T0 = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)


def test_manual_clock_moves_only_when_told():
    clock = ManualClock(T0)
    assert clock.now() == T0
    clock.advance(90)
    clock.sleep(30)
    assert clock.now() == T0 + timedelta(minutes=2)


def test_simulated_clock_runs_speed_times_faster_than_real_time():
    """Bracketed by real-time readings, so the relation holds whatever the machine's load;
    how closely sleep() keeps to its duration is measured in bench/bench_deadlines.py."""
    clock = SimulatedClock(T0, speed=1000)
    real_0 = time.monotonic()
    before = clock.now()
    real_1 = time.monotonic()
    clock.sleep(100)  # 0.1 real second
    real_2 = time.monotonic()
    after = clock.now()
    real_3 = time.monotonic()
    elapsed_s = (after - before).total_seconds()
    assert elapsed_s >= 100 - 1e-3  # sleep() lasts its whole clock duration
    assert 1000 * (real_2 - real_1) - 1e-3 <= elapsed_s <= 1000 * (real_3 - real_0) + 1e-3


def test_clocks_are_utc_aware_and_naive_starts_are_refused():
    assert RealClock().now().tzinfo is not None
    with pytest.raises(ValueError):
        SimulatedClock(datetime(2026, 1, 1), 1)
    with pytest.raises(ValueError):
        SimulatedClock(T0, 0)


def test_clock_from_config_is_real_unless_asked():
    assert isinstance(clock_from_config(None, 1.0), RealClock)
    assert isinstance(clock_from_config(T0, 1.0), SimulatedClock)
    assert isinstance(clock_from_config(None, 60.0), SimulatedClock)


def test_simulated_clocks_with_one_real_start_agree_whenever_they_are_made():
    """`pyros simulate`'s processes (and one restarted mid-night) share one clock: two clocks
    built from the same (start, speed, real_start) at different moments read the same time."""
    real_start = datetime.now(UTC) - timedelta(seconds=2)
    first = SimulatedClock(T0, speed=100, real_start=real_start)
    time.sleep(0.05)  # the second process starts later
    second = SimulatedClock(T0, speed=100, real_start=real_start)
    a, b = first.now(), second.now()
    assert abs((a - b).total_seconds()) < 2.0  # 20 ms of wall time at ×100
    assert (a - T0).total_seconds() >= 200  # 2 s of wall time since real_start, ×100
    with pytest.raises(ValueError):
        SimulatedClock(T0, 10, real_start=datetime(2026, 1, 1))


def test_a_clock_with_a_start_file_waits_at_its_start_until_the_file_is_written(tmp_path):
    gun = tmp_path / "clock-started"
    clock = SimulatedClock(T0, speed=100, real_start_file=gun)
    assert clock.now() == T0  # no file yet: the clock waits
    gun.write_text((datetime.now(UTC) - timedelta(seconds=1)).isoformat())
    assert (clock.now() - T0).total_seconds() >= 100  # 1 s of wall time since, ×100
    late = SimulatedClock(T0, speed=100, real_start_file=gun)  # a process started later
    assert abs((late.now() - clock.now()).total_seconds()) < 2.0
