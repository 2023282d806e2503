"""Device status in the database: the guard reports every change of a device's state here.

One DeviceStatus row per role (ok, error, offline; connected; last error), read by
`pyros status` and the web page.
"""

from __future__ import annotations

from sqlalchemy import select

from orchestrator.model import DeviceStatus
from orchestrator.runtime import Runtime


class DeviceStatusStore:
    """A `StatusSink` writing DeviceStatus rows with the runtime's clock."""

    def __init__(self, runtime: Runtime):
        self.runtime = runtime

    def __call__(
        self, role: str, adapter: str, state: str, connected: bool, error: str, details: dict
    ) -> None:
        with self.runtime.sessions.begin() as session:
            row = session.scalar(select(DeviceStatus).where(DeviceStatus.role == role))
            if row is None:
                row = DeviceStatus(role=role, adapter=adapter)
                session.add(row)
            row.adapter = adapter
            row.state = state
            row.connected = connected
            if error or state == "ok":
                row.last_error = error
            row.details = details
            row.updated = self.runtime.clock.now()
