"""The state table: every move it allows is stored with its reason and a history row; any other
move raises and changes nothing; opening moves are checked by `is_safe()` first."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from orchestrator.devices.registry import Devices
from orchestrator.errors import IllegalTransition
from orchestrator.majordome.core import Majordome
from orchestrator.majordome.safety import Verdict
from orchestrator.majordome.states import OPENING_MOVES, TRANSITIONS, State, StateStore
from orchestrator.model import MajordomeHistory


def _history_count(runtime) -> int:
    with runtime.sessions() as session:
        return session.scalar(select(func.count()).select_from(MajordomeHistory))


def test_the_table_names_every_state_and_only_states():
    assert set(TRANSITIONS) == set(State)
    for targets in TRANSITIONS.values():
        assert targets <= set(State)
    # every state can reach the safe stop, and manual/paused/error leave through startup
    for state, targets in TRANSITIONS.items():
        if state is not State.CLOSING:
            assert State.CLOSING in targets, state
    for state in (State.MANUAL, State.PAUSED, State.ERROR):
        assert State.STARTUP in TRANSITIONS[state]


def test_the_night_paths_of_the_tick_are_allowed():
    # tick.day opens for the dusk flats through OPENING (Majordome._open): refused from DAY
    # before, every tick of the dusk flats window (found by bench/bench_network_night.py)
    path = [State.STARTUP, State.DAY, State.OPENING, State.DUSK_FLATS, State.NIGHT_WAITING,
            State.OPENING, State.OBSERVING, State.NIGHT_WAITING, State.OPENING,
            State.DAWN_FLATS, State.DARKS_BIAS, State.DAY]  # fmt: skip
    for here, there in zip(path, path[1:], strict=False):
        assert there in TRANSITIONS[here], (here, there)


def test_a_legal_move_is_stored_with_its_reason_and_history(runtime):
    store = StateStore(runtime)
    assert store.state is State.STARTUP  # no row yet: startup
    store.move(State.DAY, "startup: day")
    store.move(State.NIGHT_WAITING, "night started")
    snap = store.snapshot()
    assert (snap.state, snap.reason, snap.mode) == (State.NIGHT_WAITING, "night started", "AUTO")
    assert [(h.from_state, h.to_state, h.reason) for h in store.history()] == [
        ("startup", "day", "startup: day"),
        ("day", "night_waiting", "night started"),
    ]


def test_an_illegal_move_raises_and_changes_nothing(runtime, clock):
    store = StateStore(runtime)
    store.move(State.DAY, "startup: day")
    before, count = store.snapshot(), _history_count(runtime)
    clock.advance(10)
    with pytest.raises(IllegalTransition, match="from day to observing"):
        store.move(State.OBSERVING, "no")
    assert store.snapshot() == before
    assert _history_count(runtime) == count


def test_opening_moves_are_refused_while_unsafe_and_nothing_is_stored(runtime):
    majordome = Majordome(runtime, Devices(), observer=None)
    majordome.store.move(State.DAY, "day")
    majordome.store.move(State.NIGHT_WAITING, "night")
    majordome.verdict = Verdict(False, ("heavy rain",))
    for target in OPENING_MOVES & TRANSITIONS[State.NIGHT_WAITING]:
        with pytest.raises(IllegalTransition, match="heavy rain"):
            majordome.move(target, "try")
    assert majordome.store.state is State.NIGHT_WAITING
    # safe weather, but it is 04:00 UTC = 20:00 at the site: the Sun check passes, so the
    # move is refused only for the weather; with safe weather it is allowed.
    majordome.verdict = Verdict(True)
    majordome.move(State.OPENING, "sequence due")
    assert majordome.store.state is State.OPENING


def test_the_sun_blocks_opening_in_daytime(runtime, clock):
    clock.advance(12 * 3600)  # 16:00 UTC = 08:00 at the site
    majordome = Majordome(runtime, Devices(), observer=None)
    majordome.verdict = Verdict(True)
    assert majordome.is_safe() == (False, "the Sun is too high")
