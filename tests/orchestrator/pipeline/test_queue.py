"""The pipeline's queue on SQLite and PostgreSQL: atomic claims, alert images first,
nothing lost or repeated across a restart."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import select

from orchestrator.model import Image
from orchestrator.pipeline import queue
from tests.orchestrator.pipeline.alerts import make_alert


def _images(runtime, n: int, sequence_id=None, start_s: float = 0.0) -> list[int]:
    ids = []
    with runtime.sessions.begin() as session:
        for i in range(n):
            when = runtime.clock.now() + timedelta(seconds=start_s + i)
            row = Image(
                path=f"/nowhere/{sequence_id}-{start_s}-{i}.fits", image_type="light",
                channel="VIS", date_obs=when, exposure_s=1.0, sequence_id=sequence_id,
            )  # fmt: skip
            session.add(row)
            session.flush()
            ids.append(row.id)
    return ids


def test_alert_images_first_then_oldest(runtime):
    routine = _images(runtime, 3)
    _, sequence_id = make_alert(runtime, 10.0, 30.0, 0.1)
    alert = _images(runtime, 2, sequence_id, start_s=100)  # taken later, served first
    order = [queue.claim_next(runtime, "w").id for _ in range(5)]
    assert order == alert + routine
    assert queue.claim_next(runtime, "w") is None


def test_concurrent_workers_never_share_an_image(runtime):
    ids = _images(runtime, 20)
    claimed: dict[str, list[int]] = {"a": [], "b": [], "c": []}

    def work(name: str) -> None:
        while (row := queue.claim_next(runtime, name)) is not None:
            claimed[name].append(row.id)

    threads = [threading.Thread(target=work, args=(n,)) for n in claimed]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    everything = [i for got in claimed.values() for i in got]
    assert sorted(everything) == ids  # each exactly once


def test_restart_puts_back_claimed_images_and_keeps_finished_ones(runtime):
    first, second, third = _images(runtime, 3)
    assert queue.claim_next(runtime, "pipeline").id == first
    queue.finish(runtime, first, True, n_stars=12)
    assert queue.claim_next(runtime, "pipeline").id == second  # then the process dies
    assert queue.release_stale(runtime, "other-worker") == 0  # not its row
    assert queue.release_stale(runtime, "pipeline") == 1
    order = [queue.claim_next(runtime, "pipeline").id for _ in range(2)]
    assert order == [second, third]
    with runtime.sessions() as session:
        done = session.get(Image, first)
        assert (done.pipeline_state, done.n_stars) == ("done", 12)
        states = dict(session.execute(select(Image.id, Image.pipeline_state)).all())
    assert states == {first: "done", second: "running", third: "running"}
