"""The scenario of a simulated night (`pyros simulate`): every entry checked before anything runs.

The seed's format (`[length_s, {"time": t, "<action>": ...}, ...]`, simulators/scenario.py) with
the actions userSimulator (a request XML file), plcSimulator (the PLC simulator's actions),
alertSimulator (a notice file), deviceFault, kill and operator. A bad entry raises InputError
naming `scenario[INDEX].FIELD` and the reason; file names resolve against the scenario's folder,
then the shipped example requests (simulators/resources), so the seed's conf.json runs as is.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from orchestrator.config import Config
from orchestrator.devices.ports import ROLE_KINDS
from orchestrator.errors import InputError
from simulators.fault_proxy import FAULTS
from simulators.scenario import Scenario, parse_scenario, read_json

USER = "userSimulator"
PLC = "plcSimulator"
ALERT = "alertSimulator"
FAULT = "deviceFault"
KILL = "kill"
OPERATOR = "operator"
ACTIONS = (USER, PLC, ALERT, FAULT, KILL, OPERATOR)
KILLABLE = ("orchestrator", "gateway", "web")


@dataclass(frozen=True)
class Entry:
    """One checked scenario entry: what to do at `time_s` scenario seconds."""

    index: int  # position in the file (1 = the first event after the length)
    time_s: float
    action: str  # one of ACTIONS
    value: Any  # the action's checked argument (a Path for files)


@dataclass(frozen=True)
class NightScenario:
    length_s: float
    entries: tuple[Entry, ...]
    source: str = ""

    def count(self, action: str) -> int:
        return sum(1 for e in self.entries if e.action == action)


def shipped_file(name: str) -> Path | None:
    candidate = resources.files("simulators.resources").joinpath(name)
    return Path(str(candidate)) if candidate.is_file() else None


def load_night_scenario(path: Path, config: Config) -> NightScenario:
    """Read and check a scenario file for a night run with `config` (its device roles)."""
    data = read_json(path)
    return check(parse_scenario(data, "scenario"), Path(path).resolve().parent, config, str(path))


def parse_night_scenario(data: Any, base_dir: Path, config: Config) -> NightScenario:
    return check(parse_scenario(data, "scenario"), base_dir, config)


def check(scenario: Scenario, base_dir: Path, config: Config, source: str = "") -> NightScenario:
    """Every entry of `scenario`, checked; InputError names the first bad entry and field."""
    entries = []
    for event in sorted(scenario.events, key=lambda e: e.index):  # the file's order
        where = f"scenario[{event.index}]"
        if event.time_s > scenario.length_s:
            raise InputError(
                f"{where}.time",
                f"{event.time_s:g} s is beyond the scenario's length ({scenario.length_s:g} s)",
            )
        if event.simulator not in ACTIONS:
            raise InputError(
                f"{where}.{event.simulator}",
                f"unknown action (known: {', '.join(ACTIONS)})",
            )
        value = _CHECKS[event.simulator](
            event.action, f"{where}.{event.simulator}", base_dir, config
        )
        entries.append(Entry(event.index, event.time_s, event.simulator, value))
    entries.sort(key=lambda e: (e.time_s, e.index))
    return NightScenario(scenario.length_s, tuple(entries), source)


def _file(value: Any, where: str, base_dir: Path, shipped: bool) -> Path:
    if not isinstance(value, str) or not value:
        raise InputError(where, f"must be a file name (got {value!r})")
    path = (base_dir / value).resolve()
    if path.is_file():
        return path
    fallback = shipped_file(value) if shipped else None
    if fallback is not None:
        return fallback
    raise InputError(where, f"file {value!r} not found (looked in {base_dir})")


def _user(value: Any, where: str, base_dir: Path, config: Config) -> Path:
    from orchestrator.requests.xml_io import parse_request

    path = _file(value, where, base_dir, shipped=True)
    try:
        parse_request(path.read_bytes(), path.name)  # XSD and structure; quotas at play time
    except InputError as exc:
        raise InputError(where, str(exc)) from None
    return path


def _alert(value: Any, where: str, base_dir: Path, config: Config) -> Path:
    return _file(value, where, base_dir, shipped=False)


def _plc(value: Any, where: str, base_dir: Path, config: Config) -> dict:
    from simulators.plc_simulator import PlcSimulator

    try:
        PlcSimulator().apply(value)  # a scratch simulator, never started: checks the action
    except InputError as exc:
        field = exc.field.removeprefix(PLC).lstrip(".")
        raise InputError(f"{where}.{field}" if field else where, exc.reason) from None
    return dict(value)


def _only_keys(value: Any, where: str, required: set[str], optional: set[str] = frozenset()):
    if not isinstance(value, dict):
        raise InputError(where, f"must be an object (got {value!r})")
    for key in value:
        if key not in required | optional:
            raise InputError(f"{where}.{key}", "unknown field")
    for key in sorted(required - value.keys()):
        raise InputError(f"{where}.{key}", "required field is missing")


def _positive(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise InputError(where, f"must be a number of seconds > 0 (got {value!r})")
    return float(value)


@dataclass(frozen=True)
class DeviceFault:
    role: str
    fault: str
    for_s: float
    device_type: str  # the Alpaca device type and number the fault proxy matches
    device_number: int


def _fault(value: Any, where: str, base_dir: Path, config: Config) -> DeviceFault:
    _only_keys(value, where, {"role", "fault", "for_s"})
    role = value["role"]
    configured = config.devices.configured()
    if role not in configured:
        known = ", ".join(configured) or "none"
        raise InputError(f"{where}.role", f"no device has role {role!r} (configured: {known})")
    if configured[role].adapter != "alpaca":
        raise InputError(f"{where}.role", f"{role} is not on the Alpaca device simulator")
    if value["fault"] not in FAULTS:
        raise InputError(
            f"{where}.fault", f"unknown fault {value['fault']!r} (known: {', '.join(FAULTS)})"
        )
    for_s = _positive(value["for_s"], f"{where}.for_s")
    return DeviceFault(
        role, value["fault"], for_s, ROLE_KINDS[role], configured[role].device_number
    )


def _kill(value: Any, where: str, base_dir: Path, config: Config) -> str:
    if value not in KILLABLE:
        raise InputError(where, f"must be one of {', '.join(KILLABLE)} (got {value!r})")
    return value


@dataclass(frozen=True)
class OperatorCommand:
    command: str
    arguments: dict


def _operator(value: Any, where: str, base_dir: Path, config: Config) -> OperatorCommand:
    from orchestrator.majordome.commands import KINDS

    _only_keys(value, where, {"command"}, {"arguments"})
    if value["command"] not in KINDS:
        raise InputError(
            f"{where}.command", f"unknown command {value['command']!r} (known: {', '.join(KINDS)})"
        )
    arguments = value.get("arguments", {})
    if not isinstance(arguments, dict):
        raise InputError(f"{where}.arguments", f"must be an object (got {arguments!r})")
    return OperatorCommand(value["command"], dict(arguments))


_CHECKS = {
    USER: _user,
    PLC: _plc,
    ALERT: _alert,
    FAULT: _fault,
    KILL: _kill,
    OPERATOR: _operator,
}
