"""PNG previews of the frames for the dashboard (`orchestrator/pipeline/preview.py`, at most
PREVIEW_PX), written once to `<folders.data>/previews/` keyed by image id (and its path,
should ids be reused).

`/images/<id>/preview.png`: the request's owner or an operator (calibration frames: operators).
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

from flask import Blueprint, abort, send_file
from sqlalchemy import select

from orchestrator.model import Image, Request, Sequence
from orchestrator.pipeline.preview import png_preview
from orchestrator.users import Permission
from web.auth import api_user, runtime

PREVIEW_PX = 512  # the longest side
blueprint = Blueprint("previews", __name__)
_writing = threading.Lock()  # one preview made at a time: 2 cores are shared with the night


def preview_name(image_id: int, path: str) -> str:
    return f"{image_id}-{hashlib.sha1(path.encode()).hexdigest()[:10]}.png"


def make_preview(fits_path: Path, out: Path, longest_px: int = PREVIEW_PX) -> Path:
    """Write the PNG preview of a FITS frame (atomically: a reader never sees half a file)."""
    png = png_preview(fits_path, longest_px)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_suffix(f".{os.getpid()}.part")
    partial.write_bytes(png)
    os.replace(partial, out)
    return out


def cached_preview(image_id: int, fits_path: str, cache_dir: Path) -> Path:
    out = cache_dir / preview_name(image_id, fits_path)
    if out.exists():
        return out
    with _writing:
        if not out.exists():
            make_preview(Path(fits_path), out)
    return out


def _allowed(session, image: Image, user) -> bool:
    if user.can(Permission.VIEW_ALL_REQUESTS):
        return True
    if image.sequence_id is None:  # a calibration frame: the operators'
        return False
    owner = session.scalar(
        select(Request.user_id)
        .join(Sequence, Sequence.request_id == Request.id)
        .where(Sequence.id == image.sequence_id)
    )
    return owner == user.id


@blueprint.get("/images/<int:image_id>/preview.png")
def preview(image_id: int):
    user = api_user()  # 401 without a session, token or basic auth
    if image_id > 2**62:
        abort(404)
    rt = runtime()
    with rt.sessions() as session:
        image = session.get(Image, image_id)
        if image is None:
            abort(404)
        if not _allowed(session, image, user):
            abort(403)
        path = image.path
    if not Path(path).is_file():
        abort(404, "the frame's file is gone")
    try:
        png = cached_preview(image_id, path, Path(rt.config.folders.data) / "previews")
    except (OSError, ValueError) as exc:
        abort(404, f"no preview: {exc}")
    response = send_file(png, mimetype="image/png", max_age=86400)
    response.headers["Cache-Control"] = "private, max-age=86400"
    return response
