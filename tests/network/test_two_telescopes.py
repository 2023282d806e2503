"""Two telescopes on one PostgreSQL database, on real peers: one PLC simulator and gateway (one
site), two alpaca-simulators (two mounts, domes and cameras), the orchestrators' own jobs on the
accelerated clock. Every sequence of the shared pool is executed once, by one telescope; a
telescope killed -9 mid-sequence leaves a claim that expires, and the other one executes it.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from orchestrator.config import parse_config, with_telescope
from orchestrator.majordome.states import StateStore
from orchestrator.model import Image, Schedule, Sequence
from orchestrator.runtime import Runtime
from simulators.alpaca_sim import prepare, simulator_argv
from tests.device_peers import Peer, _get, reset_alpaca
from tests.helpers import free_port, stop_process, wait_for
from tests.majordome.night_helpers import (
    Site,
    alpaca_devices_toml,
    make_site,
    statuses,
    submit_sky_request,
)

pytestmark = [pytest.mark.timeout(600), pytest.mark.postgres]
FRAMES = 6  # g, r, i x 2 per sequence (submit_sky_request)


@pytest.fixture(scope="module")
def second_simulator(tmp_path_factory):
    """Another alpaca-simulators: the second telescope's mount, dome, camera and wheel."""
    folder = tmp_path_factory.mktemp("alpaca-sim-west")
    from orchestrator.config import default_config_text

    yaml_path = prepare(folder, parse_config(default_config_text(), folder).site)
    yaml_path.write_text(yaml.safe_dump(yaml.safe_load(yaml_path.read_text()), sort_keys=False))
    port = free_port()
    log = (folder / "simulator.log").open("w")
    process = subprocess.Popen(
        simulator_argv(yaml_path, "127.0.0.1", port), stdout=log, stderr=subprocess.STDOUT
    )
    peer = Peer("127.0.0.1", port, process, folder)
    try:
        wait_for(lambda: _get(f"http://{peer.address}/api/v1/telescope/0/name"), 30, 0.1)
        yield peer
    finally:
        stop_process(process)
        log.close()


def _network(tmp_path: Path, url: str, east: Peer, west: Peer, ttl_s: float = 60.0):
    """The site with telescope "east" (its runtime) and a runtime for telescope "west"."""
    for peer in (east, west):  # a loaded machine may answer the reload after 2 s: ask again
        wait_for(lambda peer=peer: reset_alpaca(peer) or True, 60, 0.5, what="simulator reset")
    ttl = {"claim_ttl_s = 60.0": f"claim_ttl_s = {ttl_s}"}
    site = make_site(tmp_path / "east", url, alpaca_devices_toml(east.address), ttl)
    site.runtime.config = with_telescope(site.runtime.config, "east")
    text = site.text.replace(east.address, west.address)
    config = with_telescope(parse_config(text, tmp_path / "west"), "west")
    config = config.model_copy(
        update={
            "database": site.runtime.config.database,
            "gateway": site.runtime.config.gateway,
        }
    )
    return site, Runtime(config, site.clock)


def _run(runtime: Runtime, stop: threading.Event) -> threading.Thread:
    from orchestrator.jobs import run_orchestrator

    thread = threading.Thread(target=run_orchestrator, args=(runtime, stop), daemon=True)
    thread.start()
    return thread


def _frames_by_folder(runtime: Runtime, ids: list[int], tmp_path: Path) -> dict[int, set[str]]:
    """Each sequence's frames, by the telescope folder they were written to."""
    with runtime.sessions() as session:
        rows = session.execute(
            select(Image.sequence_id, Image.path).where(Image.sequence_id.in_(ids))
        )
        found: dict[int, set[str]] = {i: set() for i in ids}
        for sid, path in rows:
            found[sid].add(Path(path).relative_to(tmp_path).parts[0])
    return found


def _frame_count(runtime: Runtime, sid: int) -> int:
    with runtime.sessions() as session:
        return session.scalar(
            select(func.count()).select_from(Image).where(Image.sequence_id == sid)
        )


def test_two_telescopes_execute_the_pool_once(tmp_path, pg_url, alpaca_simulator, second_simulator):
    site, west = _network(tmp_path, pg_url, alpaca_simulator, second_simulator)
    east = site.runtime
    ids = [
        submit_sky_request(east, f"star {i}", 80.0 - 4 * i, 90.0 * i, window_h=0.5)
        for i in range(3)
    ]
    StateStore(east).set(paused=False)  # the one majordome row exists before both start
    west_stop = threading.Event()
    west_thread = None
    try:
        west_thread = _run(west, west_stop)
        wait_for(lambda: "executing" in statuses(east, ids).values(), 90, 0.1, what="west busy")
        site.start_orchestrator()  # its first planned sequence is west's: it re-plans, goes on
        wait_for(
            lambda: set(statuses(east, ids).values()) == {"executed"},
            240,
            0.2,
            what="the pool executed",
        )
    finally:
        west_stop.set()
        if west_thread is not None:
            west_thread.join(60)
        site.close()
    folders = _frames_by_folder(east, ids, tmp_path)
    assert all(len(f) == 1 for f in folders.values()), folders  # one telescope per sequence
    assert {next(iter(f)) for f in folders.values()} == {"east", "west"}  # both worked
    assert all(_frame_count(east, sid) == FRAMES for sid in ids)  # none executed twice
    with east.sessions() as session:
        planned_by = set(session.scalars(select(Schedule.telescope)))
        claimed = session.scalar(select(func.count()).where(Sequence.claimed_by.is_not(None)))
    assert planned_by == {"east", "west"}  # each telescope planned for itself
    assert claimed == 0  # every claim released at the end of its sequence


def _orchestrator(site: Site, folder: Path, telescope: str) -> subprocess.Popen:
    log = (folder / f"orchestrator-{telescope}.log").open("a")
    config = site.config_file(folder)
    argv = [sys.executable, "-m", "orchestrator.cli", "--config", str(config)]
    return subprocess.Popen(
        [*argv, "orchestrator", "--telescope", telescope],
        cwd=folder,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def test_a_telescope_killed_mid_sequence_leaves_it_to_the_other(
    tmp_path, pg_url, alpaca_simulator, second_simulator
):
    site, west = _network(tmp_path, pg_url, alpaca_simulator, second_simulator, ttl_s=4.0)
    east = site.runtime
    (sid,) = [submit_sky_request(east, "star", 80.0, 45.0, window_h=0.5)]
    (tmp_path / "east").mkdir(exist_ok=True)
    process = _orchestrator(site, tmp_path / "east", "east")
    west_stop = threading.Event()
    west_thread = None
    try:
        wait_for(lambda: statuses(east, [sid])[sid] == "executing", 120, 0.05)
        with east.sessions() as session:
            assert session.get(Sequence, sid).claimed_by == "east"
        west_thread = _run(west, west_stop)  # it must leave east's running sequence alone
        wait_for(lambda: _frame_count(east, sid) >= 1, 60, 0.05, what="a first frame")
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        killed_frames = _frame_count(east, sid)
        assert statuses(east, [sid])[sid] == "executing"  # nobody cleaned up: killed
        wait_for(
            lambda: statuses(east, [sid])[sid] == "executed",
            180,
            0.2,
            what="west executed it after east's claim expired",
        )
    finally:
        stop_process(process)
        west_stop.set()
        if west_thread is not None:
            west_thread.join(60)
        site.close()
    folders = _frames_by_folder(east, [sid], tmp_path)[sid]
    assert folders == {"east", "west"}  # east's first frames are kept, west took it all again
    assert _frame_count(east, sid) >= killed_frames + FRAMES
