"""One simulated site per test module for the control pages: a SQLite database with the demo
users, our PLC simulator over TCP (the address the config's `[plc]` names), the gateway's
address pointing at a closed port (so safety reads UNSAFE), and the orchestrator's real
command runner on a majordome (without devices, or the given ones), taking queued commands
in a thread.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from orchestrator import db
from orchestrator.bootstrap import init_site
from orchestrator.clock import ManualClock
from orchestrator.devices.registry import Devices
from orchestrator.majordome.commands import CommandRunner
from orchestrator.majordome.core import Majordome
from orchestrator.observer.execute import Observer
from orchestrator.runtime import Runtime
from orchestrator.users import add_user
from simulators.plc_simulator import PlcSimulator
from tests.conftest import make_runtime
from tests.orchestrator.request_helpers import ADMIN_PASSWORD, PASSWORD, USERS
from tests.pg import free_port


def control_site(folder: Path, plc: PlcSimulator, url: str | None = None) -> Runtime:
    clock = ManualClock(datetime(2026, 11, 25, 4, 0, tzinfo=UTC))
    base = make_runtime(folder, clock, url or f"sqlite:///{folder / 'pyros.db'}")
    config = base.config.model_copy(
        update={
            "plc": base.config.plc.model_copy(update={"address": plc.address}),
            "gateway": base.config.gateway.model_copy(update={"port": free_port()}),
        }
    )
    runtime = Runtime(config, clock)
    db.upgrade(runtime.engine)
    init_site(runtime, ADMIN_PASSWORD)
    with runtime.sessions.begin() as session:
        for name, (role, programs, quota) in USERS.items():
            add_user(session, clock.now(), name, role, PASSWORD, "Mexico", programs, quota_h=quota)
    return runtime


@contextmanager
def command_runner(runtime: Runtime, devices: Devices | None = None) -> Iterator[CommandRunner]:
    """The orchestrator's `commands` job, every 50 ms, until the block ends."""
    devices = devices if devices is not None else Devices()
    runner = CommandRunner(Majordome(runtime, devices, Observer(runtime, devices)))
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(0.05):
            runner()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield runner
    finally:
        stop.set()
        thread.join(10)
