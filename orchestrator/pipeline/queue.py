"""The pipeline's queue: new `Image` rows, claimed atomically, alert images first.

A claim is one `UPDATE image SET pipeline_state='running' WHERE id=? AND
pipeline_state='pending'`: of two workers only one sees rowcount 1. A worker that restarts
puts back the rows it had claimed (`release_stale`), so none is lost; a finished row is
`done` or `failed` and is never taken again.
"""

from __future__ import annotations

from sqlalchemy import case, exists, select, update

from orchestrator.model import Alert, Image, Sequence
from orchestrator.runtime import Runtime

PENDING, RUNNING, DONE, FAILED = "pending", "running", "done", "failed"


def _alert_first():
    """1 for an image of a sequence whose request came from an alert, else 0."""
    is_alert = exists().where(
        Sequence.id == Image.sequence_id, Alert.request_id == Sequence.request_id
    )
    return case((is_alert, 1), else_=0)


def claim_next(runtime: Runtime, worker: str) -> Image | None:
    """Take the next pending image (alert images, then oldest first); None if the queue is empty."""
    now = runtime.clock.now()
    for _ in range(20):  # lost races: another worker claimed the row we chose
        with runtime.sessions.begin() as session:
            image_id = session.scalar(
                select(Image.id)
                .where(Image.pipeline_state == PENDING)
                .order_by(_alert_first().desc(), Image.date_obs, Image.id)
                .limit(1)
            )
            if image_id is None:
                return None
            claimed = session.execute(
                update(Image)
                .where(Image.id == image_id, Image.pipeline_state == PENDING)
                .values(pipeline_state=RUNNING, pipeline_claimed_by=worker, pipeline_claimed_at=now)
            ).rowcount
            if claimed == 1:
                row = session.get(Image, image_id)
                session.flush()
                session.expunge(row)
                return row
    return None


def finish(runtime: Runtime, image_id: int, ok: bool, note: str = "", **fields) -> None:
    """Mark a claimed image done (or failed, with the reason) and store what was measured."""
    with runtime.sessions.begin() as session:
        session.execute(
            update(Image)
            .where(Image.id == image_id)
            .values(
                pipeline_state=DONE if ok else FAILED,
                pipeline_done_at=runtime.clock.now(),
                pipeline_note=note or None,
                **fields,
            )
        )


def release_stale(runtime: Runtime, worker: str) -> int:
    """At start: images this worker had claimed when it stopped go back to the queue."""
    with runtime.sessions.begin() as session:
        return session.execute(
            update(Image)
            .where(Image.pipeline_state == RUNNING, Image.pipeline_claimed_by == worker)
            .values(pipeline_state=PENDING, pipeline_claimed_by=None, pipeline_claimed_at=None)
        ).rowcount


def requeue(runtime: Runtime, image_ids: list[int]) -> None:
    """Process these images again (e.g. after a new master arrived)."""
    with runtime.sessions.begin() as session:
        session.execute(update(Image).where(Image.id.in_(image_ids)).values(pipeline_state=PENDING))
