"""Each telescope of a network has its own majordome state, history and job heartbeats on the
shared database.

Found by bench/bench_network_night.py: with one shared row, east's legal move was refused
because of west's state ("cannot move from observing to opening"), each telescope's status
page showed the other's state, and both orchestrators' first beats of a job collided
(UniqueViolation) while one's beats hid the other's dead job from its watchdog.
"""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from orchestrator.bootstrap import init_site
from orchestrator.clock import ManualClock
from orchestrator.config import default_config_text, parse_config, with_telescope
from orchestrator.jobs import Watchdog, record_beat
from orchestrator.majordome.commands import CommandRunner, queue
from orchestrator.majordome.states import State, StateStore
from orchestrator.model import Command, JobHeartbeat, MajordomeState
from orchestrator.runtime import Runtime
from orchestrator.status import system_status

pytestmark = pytest.mark.postgres


def _runtime(tmp_path, url: str, telescope: str, clock) -> Runtime:
    config = with_telescope(parse_config(default_config_text(), tmp_path / telescope), telescope)
    database = config.database.model_copy(update={"url": url})
    return Runtime(config.model_copy(update={"database": database}), clock)


def test_two_telescopes_keep_their_own_majordome_state(tmp_path, pg_url):
    clock = ManualClock(datetime(2026, 11, 25, 1, 0, tzinfo=UTC))
    east, west = (_runtime(tmp_path, pg_url, t, clock) for t in ("east", "west"))
    try:
        init_site(east, "admin-password-1")
        init_site(west, None)
        with east.sessions() as session:
            rows = set(session.scalars(select(MajordomeState.telescope)))
        assert {"east", "west"} <= rows  # each init made its telescope's row
        east_store, west_store = StateStore(east, cached=True), StateStore(west, cached=True)
        east_store.move(State.DAY, "daytime")
        west_store.move(State.NIGHT_WAITING, "night")
        # legal from east's DAY, illegal from west's NIGHT_WAITING: a shared row refused it
        east_store.move(State.DUSK_FLATS, "dusk flats window")
        west_store.move(State.OPENING, "sequence due")  # legal from NIGHT_WAITING only
        assert StateStore(east).state == State.DUSK_FLATS  # read back, not cached
        assert StateStore(west).state == State.OPENING
        assert [h.to_state for h in StateStore(east).history()] == ["day", "dusk_flats"]
        assert [h.to_state for h in StateStore(west).history()] == ["night_waiting", "opening"]
        assert system_status(west)["majordome"]["state"] == "opening"
    finally:
        east.engine.dispose()
        west.engine.dispose()


def test_each_telescope_beats_and_restarts_only_its_own_jobs(tmp_path, pg_url):
    clock = ManualClock(datetime(2026, 11, 25, 1, 0, tzinfo=UTC))
    east, west = (_runtime(tmp_path, pg_url, t, clock) for t in ("east", "west"))
    restarted: list[str] = []
    try:
        watchdog = Watchdog(east, restart=lambda job: restarted.append(job) or True)
        record_beat(east, "claims", 5.0)
        record_beat(west, "claims", 5.0)  # one shared row: a UniqueViolation or a merged beat
        with east.sessions() as session:
            names = set(session.scalars(select(JobHeartbeat.name)))
        assert names == {"claims@east", "claims@west"}
        clock.advance(60)
        record_beat(west, "claims", 5.0)  # west alive, east's job silent for 12 periods
        watchdog()
        assert restarted == ["claims"]  # its own job, found late despite west's beat
        clock.advance(60)
        watchdog()  # now west's is late too: flagged, but not east's to restart
        assert restarted == ["claims"]
        with east.sessions() as session:
            west_row = session.scalar(
                select(JobHeartbeat).where(JobHeartbeat.name == "claims@west")
            )
            assert west_row.state == "late"
    finally:
        east.engine.dispose()
        west.engine.dispose()


def test_an_operator_command_is_taken_by_its_own_telescope_only(tmp_path, pg_url):
    """A pause queued at east (its web page or CLI) must not pause west, which used to take
    whichever queued command it read first."""
    clock = ManualClock(datetime(2026, 11, 25, 1, 0, tzinfo=UTC))
    east, west = (_runtime(tmp_path, pg_url, t, clock) for t in ("east", "west"))
    try:
        init_site(east, "admin-password-1")
        init_site(west, None)
        command_id = queue(east, "pause", issued_by="web:oscar")
        assert CommandRunner(SimpleNamespace(runtime=west))() == 0  # west sees none of it
        with east.sessions() as session:
            row = session.get(Command, command_id)
            assert (row.telescope, row.status, row.taken) == ("east", "queued", None)
    finally:
        east.engine.dispose()
        west.engine.dispose()
