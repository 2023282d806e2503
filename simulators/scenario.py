"""Scenario files in the seed's format: `[length_s, {"time": t, "<simulator>": {...}}, ...]`.

The first element is the scenario's length in seconds; each event fires when `time` seconds
have passed on the injectable clock since the scenario started. Used by the simulators.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from orchestrator.errors import InputError


@dataclass(frozen=True)
class ScenarioEvent:
    time_s: float
    simulator: str  # "plcSimulator", "userSimulator", ...
    action: Any  # what the simulator is told to do (simulator-specific)
    index: int = 0  # its position in the file (1 = the first event after the length)


@dataclass(frozen=True)
class Scenario:
    length_s: float
    events: tuple[ScenarioEvent, ...]

    def for_simulator(self, simulator: str) -> Scenario:
        return Scenario(self.length_s, tuple(e for e in self.events if e.simulator == simulator))


def parse_scenario(data: Any, where: str = "scenario") -> Scenario:
    """Validate decoded JSON; a bad element raises InputError naming its index."""
    if not isinstance(data, list) or not data:
        raise InputError(where, "must be a JSON list whose first element is the length in s")
    length = data[0]
    if isinstance(length, bool) or not isinstance(length, int | float) or length <= 0:
        raise InputError(f"{where}[0]", f"length must be a number of seconds > 0 (got {length!r})")
    events = []
    for index, item in enumerate(data[1:], start=1):
        name = f"{where}[{index}]"
        if not isinstance(item, dict) or "time" not in item:
            raise InputError(name, "each event must be an object with a 'time'")
        time_s = item["time"]
        if isinstance(time_s, bool) or not isinstance(time_s, int | float) or time_s < 0:
            raise InputError(f"{name}.time", f"must be a number of seconds >= 0 (got {time_s!r})")
        others = [key for key in item if key != "time"]
        if len(others) != 1:
            raise InputError(name, f"needs exactly one simulator key besides 'time' (got {others})")
        events.append(ScenarioEvent(float(time_s), others[0], item[others[0]], index))
    events.sort(key=lambda e: e.time_s)  # stable: same-time events keep their file order
    return Scenario(float(length), tuple(events))


def read_json(path: Path) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(str(path), f"cannot read ({exc.strerror})") from None
    except json.JSONDecodeError as exc:
        raise InputError(str(path), f"invalid JSON: {exc}") from None


def load_scenario(path: Path) -> Scenario:
    return parse_scenario(read_json(path), str(path))


@dataclass
class ScenarioPlayer:
    """Hands out each event once, when its time has come on the clock since `started`."""

    scenario: Scenario
    started: datetime
    _next: int = field(default=0)

    def due(self, now: datetime) -> list[ScenarioEvent]:
        elapsed_s = (now - self.started).total_seconds()
        due = []
        while self._next < len(self.scenario.events):
            event = self.scenario.events[self._next]
            if event.time_s > elapsed_s:
                break
            due.append(event)
            self._next += 1
        return due

    def finished(self, now: datetime) -> bool:
        return (now - self.started).total_seconds() >= self.scenario.length_s


ALERT_SIMULATOR = "alertSimulator"  # {"time": t, "alertSimulator": "FILE"}: a notice arrives


def alert_simulator_action(event: ScenarioEvent, base_dir: Path, folder: Path, now: datetime):
    """Drop the event's notice file (relative to the scenario's folder) into the VOEvent folder,
    made fresh (trigger time now, unique IVORN) so that the strategies act on it."""
    from orchestrator.alerts.replay import freshen, to_folder

    if not isinstance(event.action, str) or not event.action:
        raise InputError(ALERT_SIMULATOR, f"must be a notice file name (got {event.action!r})")
    source = Path(base_dir) / event.action
    try:
        payload = source.read_bytes()
    except OSError as exc:
        raise InputError(ALERT_SIMULATOR, f"cannot read {source} ({exc.strerror})") from None
    return to_folder(folder, source.name, freshen(payload, now))
