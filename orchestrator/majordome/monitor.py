"""The dedicated fast safety poll: IsSafe read every `majordome.safety_poll_s`.

A change of verdict calls the majordome at once (`on_safety`): the safety reaction never waits
for a tick. The `monitoring` job checks this thread is alive and stores the latest verdict.
"""

from __future__ import annotations

import logging
import threading
import time

from orchestrator.majordome.safety import Verdict

log = logging.getLogger(__name__)


class SafetyWatcher:
    def __init__(self, majordome):
        self.majordome = majordome
        self.period_s = majordome.runtime.config.majordome.safety_poll_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last: Verdict | None = None
        self._silent_since: float | None = None
        self.last_read = 0.0  # monotonic

    def poll_once(self) -> Verdict:
        verdict = self.majordome.reader.read()
        self.last_read = now = time.monotonic()
        if not verdict.reachable:
            # One read lost on a loaded machine is not bad weather; a monitor silent for
            # a second read (safety_timeout_s or more later) is.
            if self._silent_since is None:
                self._silent_since = now
                log.warning("safety monitor did not answer: %s", "; ".join(verdict.reasons))
                return self.last or verdict
        else:
            self._silent_since = None
        changed = self.last is None or verdict.is_safe != self.last.is_safe
        self.last = verdict
        if changed:
            log.info("safety: %s", verdict.text())
            self.majordome.on_safety(verdict)
        else:
            self.majordome.verdict = verdict  # new reasons, same verdict
        return verdict

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                self.poll_once()
            except Exception:  # the poll must keep running whatever one read did
                log.exception("safety poll failed")
            self._stop.wait(max(0.0, self.period_s - (time.monotonic() - started)))

    def start(self) -> SafetyWatcher:
        self._thread = threading.Thread(target=self._run, name="safety-watcher", daemon=True)
        self._thread.start()
        return self

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
