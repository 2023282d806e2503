"""Operator commands: rows of `command`, each taken exactly once and answered in the row.

The CLI and the web queue a row for their telescope; that telescope's orchestrator's `commands`
job takes it with an atomic update (taken IS NULL -> now), runs it and stores `done`, `failed`
or `refused` with the reason. A bad argument or an unsafe move is refused before anything moves.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select, update

from orchestrator.devices.errors import DeviceError
from orchestrator.errors import IllegalTransition, PyrosError
from orchestrator.majordome import reaction
from orchestrator.majordome.states import State
from orchestrator.model import Command

log = logging.getLogger(__name__)

MAJORDOME_KINDS = ("auto", "manual", "pause", "resume", "abort")
DEVICE_KINDS = ("slew", "park", "unpark", "dome_open", "dome_close", "expose", "lights")
ACTION_KINDS = ("replan", "darks", "bias", "flats", "close", "report")  # also [[automation]]
KINDS = MAJORDOME_KINDS + DEVICE_KINDS + ACTION_KINDS
MOVES = frozenset({"slew", "unpark", "dome_open"})  # refused while unsafe unless forced


class Refused(PyrosError):
    """The command is not carried out; nothing moved."""


def queue(runtime, kind: str, arguments: dict | None = None, issued_by: str = "cli") -> int:
    """Store a command row for this telescope's orchestrator (`[telescope] name`: in a
    network, another telescope's never takes it); returns its id."""
    if kind not in KINDS:
        raise Refused(f"unknown command {kind!r} (known: {', '.join(KINDS)})")
    with runtime.sessions.begin() as session:
        row = Command(
            telescope=runtime.config.telescope.name,
            kind=kind,
            arguments=arguments or {},
            issued_by=issued_by,
            created=runtime.clock.now(),
            status="queued",
        )
        session.add(row)
        session.flush()
        return row.id


def take(runtime, command_id: int) -> bool:
    """Atomically mark a queued command taken; False if another taker was first."""
    with runtime.sessions.begin() as session:
        taken = session.execute(
            update(Command)
            .where(Command.id == command_id, Command.taken.is_(None))
            .values(taken=runtime.clock.now(), status="taken")
        )
        return taken.rowcount == 1


def finish(runtime, command_id: int, status: str, result: str) -> None:
    with runtime.sessions.begin() as session:
        row = session.get(Command, command_id)
        row.status, row.result, row.done = status, result[:4000], runtime.clock.now()


@dataclass
class CommandRunner:
    """The `commands` job: takes every queued command of its telescope, oldest first, and
    runs it."""

    majordome: object

    def __call__(self) -> int:
        runtime = self.majordome.runtime
        mine = Command.telescope == runtime.config.telescope.name
        with runtime.sessions() as session:
            ids = list(
                session.scalars(
                    select(Command.id).where(Command.taken.is_(None), mine).order_by(Command.id)
                )
            )
        for command_id in ids:
            if take(runtime, command_id):
                self.run(command_id)
        return len(ids)

    def run(self, command_id: int) -> None:
        runtime = self.majordome.runtime
        with runtime.sessions() as session:
            row = session.get(Command, command_id)
            kind, args, who = row.kind, dict(row.arguments or {}), row.issued_by
        try:
            result = self.execute(kind, args, who)
            status = "done"
        except Refused as exc:
            status, result = "refused", str(exc)
        except (DeviceError, IllegalTransition, PyrosError) as exc:
            status, result = "failed", str(exc)
        except Exception as exc:  # noqa: BLE001 - the row must say what happened
            log.exception("command %s (%s) failed", command_id, kind)
            status, result = "failed", f"{type(exc).__name__}: {exc}"
        log.info("command %s %s by %s: %s: %s", command_id, kind, who, status, result)
        finish(runtime, command_id, status, result)

    def execute(self, kind: str, args: dict, who: str) -> str:
        m = self.majordome
        handler: Callable[[dict, str], str] | None = getattr(self, f"_{kind}", None)
        if handler is None:
            raise Refused(f"unknown command {kind!r}")
        if kind in DEVICE_KINDS and not (kind == "park" and args.get("automation")):
            if m.store.snapshot().mode != "MANUAL":
                raise Refused(f"{kind}: device commands are accepted in MANUAL mode only")
        return handler(args, who)

    def _interlock(self, kind: str, args: dict, who: str) -> None:
        m = self.majordome
        verdict = m.reader.read()
        if verdict.is_safe:
            return
        if not args.get("force"):
            raise Refused(f"{kind} refused: {verdict.text()} (an operator may --force)")
        log.warning("%s FORCED by %s while %s", kind, who, verdict.text())

    # ---- majordome ----
    def _auto(self, args: dict, who: str) -> str:
        self.majordome.store.set(mode="AUTO")
        self.majordome.wake.set()
        return "mode AUTO (the majordome re-enters through startup)"

    def _manual(self, args: dict, who: str) -> str:
        m = self.majordome
        m.store.set(mode="MANUAL")
        if m.observer.busy:
            m.observer.abort("operator", f"manual mode by {who}")
        with m._lock:
            m.move(State.MANUAL, f"manual mode by {who}")
        return "mode MANUAL"

    def _pause(self, args: dict, who: str) -> str:
        self.majordome.store.set(paused=True)
        return "paused: no new sequence starts (the running one finishes)"

    def _resume(self, args: dict, who: str) -> str:
        self.majordome.store.set(paused=False)
        self.majordome.wake.set()
        return "resumed"

    def _abort(self, args: dict, who: str) -> str:
        m = self.majordome
        current = m.store.snapshot().current_sequence_id
        if not m.observer.busy:
            return "nothing running"
        m.observer.abort("operator", f"aborted by {who}")
        return f"sequence {current} aborted"

    # ---- devices (MANUAL) ----
    def _device(self, role: str):
        if role not in self.majordome.devices:
            raise Refused(f"no {role} is configured")
        return self.majordome.devices.get(role)

    def _slew(self, args: dict, who: str) -> str:
        """To RA/Dec (ICRS), or to alt/az (converted at the clock's now at the site)."""
        import astropy.units as u
        from astropy.coordinates import SkyCoord

        from orchestrator.devices.coords import from_altaz

        config = self.majordome.runtime.config
        if "alt_deg" in args or "az_deg" in args:
            alt, az = _number(args, "alt_deg", 0, 90), _number(args, "az_deg", 0, 360)
            target = from_altaz(alt, az, config.site, self.majordome.now())
            where = f"alt {alt:.2f} az {az:.2f} (RA {target.ra.deg:.4f} Dec {target.dec.deg:.4f})"
        else:
            ra, dec = _number(args, "ra_deg", 0, 360), _number(args, "dec_deg", -90, 90)
            target, where = SkyCoord(ra * u.deg, dec * u.deg), f"RA {ra:.4f} Dec {dec:.4f}"
        mount = self._device("mount")
        self._interlock("slew", args, who)  # after the arguments: a bad one says so first
        mount.slew(target, timeout_s=config.majordome.park_timeout_s)
        return f"slewed to {where}"

    def _park(self, args: dict, who: str) -> str:
        step = reaction.park_mount(
            self.majordome.devices, self.majordome.runtime.config.majordome.park_timeout_s
        )
        if not step.ok:
            raise DeviceError("mount", "park", step.detail)
        return step.text()

    def _unpark(self, args: dict, who: str) -> str:
        self._interlock("unpark", args, who)
        self._device("mount").unpark(
            timeout_s=self.majordome.runtime.config.majordome.park_timeout_s
        )
        return "unparked"

    def _dome_open(self, args: dict, who: str) -> str:
        t = self.majordome.runtime.config.majordome.open_timeout_s
        self._interlock("dome_open", args, who)
        self._device("dome").open_shutter(timeout_s=t)
        return "shutter open"

    def _dome_close(self, args: dict, who: str) -> str:
        step = reaction.close_dome(
            self.majordome.devices, self.majordome.runtime.config.majordome.close_timeout_s
        )
        if not step.ok:
            raise DeviceError("dome", "close", step.detail)
        return step.text()

    def _expose(self, args: dict, who: str) -> str:
        from orchestrator.majordome.manual import expose

        camera = str(args.get("camera", "")).lower()
        if camera not in ("vis", "nir"):
            raise Refused(f"camera: must be vis or nir (got {args.get('camera')!r})")
        exposure_s = _number(args, "exposure_s", 0, 3600)
        return expose(
            self.majordome,
            camera,
            args.get("filter"),
            exposure_s,
            str(args.get("image_type", "light")),
        )

    def _lights(self, args: dict, who: str) -> str:
        """The site lights through the PLC (the address the gateway polls)."""
        from orchestrator.plc_command import set_lights

        on = args.get("on")
        if not isinstance(on, bool):
            raise Refused(f"on: must be true or false (got {on!r})")
        host, port = self.majordome.runtime.config.plc.host_port
        state = set_lights(host, port, on, self.majordome.runtime.config.plc.timeout_s)
        return f"site lights {state}"

    # ---- actions (also [[automation]]) ----
    def _replan(self, args: dict, who: str) -> str:
        from orchestrator.planner.service import replan

        outcome = replan(self.majordome.runtime, f"command by {who}"[:32])
        return f"schedule {outcome.schedule_id}"

    def _close(self, args: dict, who: str) -> str:
        m = self.majordome
        steps = reaction.go_safe(
            m.runtime.config, m.devices, lambda: m._abort_running("operator", f"close by {who}")
        )
        return "; ".join(s.text() for s in steps)

    def _calibration(self, kind: str) -> str:
        from orchestrator.majordome import tick

        m = self.majordome
        if m.busy:
            raise Refused(f"{kind}: the majordome is busy ({m._worker_kind})")
        if kind == "flats":
            tick._start_flats(m, "flats")
        elif kind == "darks":
            m.start_calibration("darks_bias", lambda: tick.take_darks_bias(m))
        else:
            m.start_calibration("bias", lambda: tick.take_bias_only(m))
        return f"{kind} started"

    def _darks(self, args: dict, who: str) -> str:
        return self._calibration("darks")

    def _bias(self, args: dict, who: str) -> str:
        return self._calibration("bias")

    def _flats(self, args: dict, who: str) -> str:
        return self._calibration("flats")

    def _report(self, args: dict, who: str) -> str:
        from orchestrator.report import write_night_report
        from orchestrator.report.nightly import night_to_report
        from orchestrator.report.text import write_report

        runtime = self.majordome.runtime
        night = night_to_report(runtime.config, runtime.clock.now())
        html_path, _ = write_night_report(runtime, night, runtime.config.folders.reports)
        return f"report written to {write_report(runtime)} and {html_path}"


def _number(args: dict, key: str, low: float, high: float) -> float:
    value = args.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise Refused(f"{key}: must be a number (got {value!r})")
    if not low <= value <= high:
        raise Refused(f"{key}: must be within {low:g}..{high:g} (got {value!r})")
    return float(value)
