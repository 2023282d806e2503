"""The watched folder (`folders.voevents`): inotify events through `watchdog`, never polling.

A file is read when its writer closes it (IN_CLOSE_WRITE) or when it is renamed into the folder,
so half-written files are never read. After storage it goes to `processed/`, or to `rejected/`
with a `.reason` file beside it. Files already there at start are processed too.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from pathlib import Path

from watchdog.events import FileClosedEvent, FileMovedEvent, FileSystemEventHandler
from watchdog.observers import Observer

try:  # Linux: report a lone IN_MOVED_TO (a file moved in from another folder) as a move
    from watchdog.observers.inotify import InotifyObserver

    def _observer() -> Observer:
        return InotifyObserver(generate_full_events=True)
except ImportError:  # pragma: no cover - other platforms' observers
    _observer = Observer

from orchestrator.alerts.listeners.base import HEARTBEAT_S, Listener
from orchestrator.alerts.manager import AlertManager, Arrival, Received

log = logging.getLogger(__name__)
SETTLE_S = 1.0  # at start, a file younger than this may still be written: its close may come


def ignored(path: Path) -> bool:
    """Hidden and temporary names: writers that rename into place use them."""
    return path.name.startswith(".") or path.suffix in (".part", ".tmp", ".reason", ".swp")


class _Handler(FileSystemEventHandler):
    def __init__(self, folder: Path, inbox: queue.Queue):
        self.folder, self.inbox = folder, inbox

    def on_closed(self, event: FileClosedEvent) -> None:
        self._offer(Path(event.src_path))

    def on_moved(self, event: FileMovedEvent) -> None:
        self._offer(Path(event.dest_path))

    def _offer(self, path: Path) -> None:
        arrived = (time.perf_counter(), time.time())  # the file is complete now
        if path.parent == self.folder and not ignored(path):
            self.inbox.put((path, arrived))


class FolderListener(Listener):
    name = "alerts-folder"

    def __init__(self, manager: AlertManager, folder: Path, backoff_max_s: float = 60.0):
        super().__init__(manager, backoff_max_s)
        self.folder = Path(folder)
        self.processed = self.folder / "processed"
        self.rejected = self.folder / "rejected"

    def serve(self, stop: threading.Event) -> None:
        for sub in (self.folder, self.processed, self.rejected):
            sub.mkdir(parents=True, exist_ok=True)
        inbox: queue.Queue = queue.Queue()
        # Full events: by default watchdog turns a file moved in from outside the watch into a
        # bare creation (indistinguishable from an open for writing), so it was never read.
        observer = _observer()
        # Recursive on purpose: a file moved to processed/ then pairs its IN_MOVED_FROM with an
        # IN_MOVED_TO; unpaired, watchdog holds it (and every event behind it) for ~0.2 s.
        observer.schedule(_Handler(self.folder, inbox), str(self.folder), recursive=True)
        observer.start()
        try:
            young = self._catch_up(inbox)
            self.connected_ok()
            while not stop.is_set():
                self.beat()
                if not observer.is_alive():
                    raise RuntimeError(f"inotify watch on {self.folder} ended")
                young = self._offer_settled(young, inbox)
                wait_s = SETTLE_S / 4 if young else min(1.0, HEARTBEAT_S)
                try:
                    path, arrived = inbox.get(timeout=wait_s)
                except queue.Empty:
                    continue
                self.process(path, arrived)
        finally:
            observer.stop()
            observer.join(5)

    def _catch_up(self, inbox: queue.Queue) -> list[Path]:
        """Offer the files already there; return the young ones, which may still be written.

        A young file's close may have come before the watch started (then no event will), so
        it is offered once it has settled, unless an event took it meanwhile (it then left the
        inbox folder; and a notice offered twice is stored once anyway).
        """
        now = time.time()
        files = [p for p in self.folder.iterdir() if p.is_file() and not ignored(p)]
        young = []
        for path in sorted(files, key=lambda p: p.stat().st_mtime):
            if now - path.stat().st_mtime >= SETTLE_S:
                inbox.put((path, (time.perf_counter(), time.time())))
            else:
                young.append(path)
        return young

    def _offer_settled(self, young: list[Path], inbox: queue.Queue) -> list[Path]:
        still_young = []
        now = time.time()
        for path in young:
            try:
                settled = now - path.stat().st_mtime >= SETTLE_S
            except FileNotFoundError:
                continue  # an event took it and it was moved
            if settled:
                inbox.put((path, (time.perf_counter(), time.time())))
            else:
                still_young.append(path)
        return still_young

    def process(self, path: Path, arrived: tuple[float, float]) -> None:
        try:
            payload = path.read_bytes()
        except FileNotFoundError:
            return  # already moved (a close and a rename of the same file)
        arrival = Arrival(payload, "folder", path.name, arrived[0], arrived[1])

        def ack(received: Received) -> None:  # stored: now the file may leave the inbox
            if received.accepted:
                _move(path, self.processed)
            else:
                target = _move(path, self.rejected)
                target.with_name(target.name + ".reason").write_text(
                    f"{received.rejected}\n", encoding="utf-8"
                )

        self.manager.handle(arrival, ack)


def _move(path: Path, folder: Path) -> Path:
    target = folder / path.name
    n = 1
    while target.exists():
        target = folder / f"{path.stem}.{n}{path.suffix}"
        n += 1
    path.replace(target)
    return target
