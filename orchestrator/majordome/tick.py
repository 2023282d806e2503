"""What the majordome does at each tick, state by state: one handler per state, in a table.

A handler looks at the night's times, the safety verdict and the schedule, and makes at most
one move. The mode (MANUAL) and the pause flag are looked at first, whatever the state.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import date

from orchestrator.devices.errors import DeviceError
from orchestrator.errors import IllegalTransition
from orchestrator.majordome import reaction
from orchestrator.majordome.core import Majordome
from orchestrator.majordome.states import State

log = logging.getLogger(__name__)
M = State


def tick(m: Majordome) -> State:
    """One decision; returns the state after it. Never raises on device errors."""
    with m._lock:
        snap = m.store.snapshot()
        try:
            if snap.mode == "MANUAL":
                if snap.state != M.MANUAL:
                    m.move(M.MANUAL, "operator: manual mode")
            elif snap.paused:
                if snap.state != M.PAUSED and not m.busy:
                    m.move(M.PAUSED, "operator: paused (the running work finished)")
            else:
                HANDLERS[snap.state](m)
        except IllegalTransition as exc:
            log.info("majordome: %s", exc)  # e.g. unsafe: stays where it is, says why
        except DeviceError as exc:
            m.react("device", str(exc))
        return m.store.state


def _wait(m: Majordome, reason: str) -> None:
    """Stay, but store the reason when it changed (what `pyros status` shows)."""
    if m.store.snapshot().reason != reason:
        m.store.move(m.store.state, reason)


def startup(m: Majordome) -> None:
    """Re-entry after a start, manual mode, a pause or an error: check everything first."""
    missing = _reconnect_required(m)
    if missing:
        m.move(M.ERROR, missing)
        return
    now, night = m.now(), m.night()
    if reaction.shutter_open(m.devices):
        safe, why = m.is_safe()
        if not safe or not night.sun_low_enough(now):
            m.secure(
                M.DAY if not night.is_night(now) else M.CLOSED_WEATHER,
                f"startup: open while {why or 'daytime'}",
            )
            return
        m.move(M.NIGHT_WAITING, "startup: open, safe and night")
        return
    if night.is_night(now):
        m.move(M.NIGHT_WAITING, "startup: night")
    else:
        m.secure(M.DAY, "startup: day")


def day(m: Majordome) -> None:
    now, night = m.now(), m.night()
    if night.is_night(now):
        m.move(M.NIGHT_WAITING, "night started")
    elif night.in_dusk_flats(now) and ("dusk_flats", night.night) not in m._done:
        if not _filters_tonight(m):
            m._done.add(("dusk_flats", night.night))
            return
        if m.is_safe()[0]:
            m._open(M.DUSK_FLATS, "dusk flats window")
            _start_flats(m, "dusk_flats")
        else:
            _wait(m, "dusk flats window, waiting: " + m.is_safe()[1])


def flats(m: Majordome) -> None:
    if m.busy:
        return
    if m.store.state == M.DUSK_FLATS:
        m.move(M.NIGHT_WAITING, "dusk flats done")
    else:
        m.secure(M.DARKS_BIAS, "dawn flats done")


def night_waiting(m: Majordome) -> None:
    now, night = m.now(), m.night()
    if not night.is_night(now):
        _end_of_night(m, night)
        return
    safe, why = m.is_safe()
    if not safe:
        _wait(m, f"waiting for safe: {why}")
        return
    sequence_id = m.next_due()
    if sequence_id is None:
        _wait(m, "nothing to observe now")
        return
    if reaction.shutter_open(m.devices):
        m.move(M.OBSERVING, f"sequence {sequence_id} due")
    elif not m._open(M.OBSERVING, f"sequence {sequence_id} due"):
        return
    m.start_sequence(sequence_id)


def observing(m: Majordome) -> None:
    if m.busy:
        return
    now, night = m.now(), m.night()
    if not night.is_night(now):
        _end_of_night(m, night)
        return
    disk_ok, why = m.disk_ok()  # the weather has its own reaction; the disk has none
    if not disk_ok:
        m.move(M.NIGHT_WAITING, f"waiting for safe: {why}")
        return
    sequence_id = m.next_due()
    if sequence_id is None:
        m.move(M.NIGHT_WAITING, "nothing to observe now")
        return
    m.start_sequence(sequence_id)


def _end_of_night(m: Majordome, night) -> None:
    now = m.now()
    if m.busy:
        return
    if (
        night.in_dawn_flats(now)
        and ("dawn_flats", night.night) not in m._done
        and _filters_tonight(m)
        and m.is_safe()[0]
    ):
        if reaction.shutter_open(m.devices):
            m.move(M.DAWN_FLATS, "dawn flats window")
        elif not m._open(M.DAWN_FLATS, "dawn flats window"):
            return
        _start_flats(m, "dawn_flats")
        return
    m.secure(M.DARKS_BIAS, "night over")


def closed_weather(m: Majordome) -> None:
    now, night = m.now(), m.night()
    if not night.is_night(now):
        _end_of_night(m, night)
    elif m.verdict.is_safe:
        m.move(M.NIGHT_WAITING, "safe again")
    else:
        _wait(m, "closed: " + "; ".join(m.verdict.reasons))


def darks_bias(m: Majordome) -> None:
    if m.busy:
        return
    night = m.night()
    if ("darks_bias", night.night) in m._done:
        m.move(M.DAY if not night.is_night(m.now()) else M.NIGHT_WAITING, "darks and bias done")
        if night.after_dawn(m.now()):
            night_report_once(m, night.night)
        return
    m.start_calibration("darks_bias", lambda: take_darks_bias(m))


def parked(m: Majordome) -> None:
    if m.night().is_night(m.now()):
        m.move(M.NIGHT_WAITING, "night: leaving parked")
    else:
        m.move(M.DAY, "day")


def leave(m: Majordome) -> None:
    """manual, paused, error: back through startup once the reason is gone."""
    snap = m.store.snapshot()
    if snap.state == M.ERROR:
        if time.monotonic() < m._retry_at:
            return
        missing = _reconnect_required(m)
        if missing:
            cfg = m.runtime.config.majordome
            m._retry_at = time.monotonic() + m._backoff_s
            m._backoff_s = min(m._backoff_s * 2, cfg.reconnect_max_s)
            _wait(m, f"{snap.reason.split(' | ')[0]} | reconnect failed: {missing}")
            return
        m._backoff_s = m.runtime.config.majordome.reconnect_min_s
    m.move(M.STARTUP, f"leaving {snap.state.value}")


def nothing(m: Majordome) -> None:
    """opening, closing: another thread is doing it."""


HANDLERS: dict[State, Callable[[Majordome], None]] = {
    M.STARTUP: startup,
    M.DAY: day,
    M.DUSK_FLATS: flats,
    M.NIGHT_WAITING: night_waiting,
    M.OPENING: nothing,
    M.OBSERVING: observing,
    M.CLOSING: nothing,
    M.CLOSED_WEATHER: closed_weather,
    M.DAWN_FLATS: flats,
    M.DARKS_BIAS: darks_bias,
    M.PARKED: parked,
    M.MANUAL: leave,
    M.PAUSED: leave,
    M.ERROR: leave,
}


def _reconnect_required(m: Majordome) -> str:
    """'' when every required device answers, else which one does not and why."""
    for role in m.runtime.config.majordome.required_roles:
        if role not in m.devices:
            continue
        device = m.devices.get(role)
        try:
            if device.stale or not device.is_connected():
                device.connect()
        except DeviceError as exc:
            return str(exc)
    return ""


def _filters_tonight(m: Majordome) -> dict[str, list[str]]:
    """Filters of tonight's newest schedule, by channel (what the flats are for)."""
    from orchestrator.observer.calibrations import filters_scheduled

    return filters_scheduled(m.runtime)


def _start_flats(m: Majordome, kind: str) -> None:
    from orchestrator.observer.calibrations import take_flats

    filters = _filters_tonight(m)
    in_window = m.night().in_dusk_flats if kind == "dusk_flats" else m.night().in_dawn_flats

    def stop() -> bool:
        return not (in_window(m.now()) and m.verdict.is_safe)

    def work() -> None:
        for channel, names in filters.items():
            take_flats(m.runtime, m.devices, channel, names, stop)

    m.start_calibration(kind, work)


def _cameras(m: Majordome) -> list[str]:
    return [
        r.removeprefix("camera_").upper() for r in ("camera_vis", "camera_nir") if r in m.devices
    ]


def take_darks_bias(m: Majordome) -> None:
    """Bias, and darks of tonight's exposure times, for every configured camera."""
    from orchestrator.observer.calibrations import exposures_used_tonight, take_bias, take_darks
    from orchestrator.observer.fits import night_of

    cfg = m.runtime.config.calibrations
    exposures = sorted(exposures_used_tonight(m.runtime, night_of(m.now(), m.runtime.config.site)))
    for channel in _cameras(m):
        take_bias(m.runtime, m.devices, channel, cfg.bias_count)
        if exposures:
            take_darks(m.runtime, m.devices, channel, exposures, cfg.dark_count)


def take_bias_only(m: Majordome) -> None:
    from orchestrator.observer.calibrations import take_bias

    for channel in _cameras(m):
        take_bias(m.runtime, m.devices, channel, m.runtime.config.calibrations.bias_count)


def night_report_once(m: Majordome, night: date, background: bool = True):
    """The end of a night: write its report once (after the last calibrations, or by the
    service's fallback job); a failure is logged by the report and never reaches the tick."""
    key = ("night_report", night)
    if key in m._done:
        return None
    m._done.add(key)
    from orchestrator.report.nightly import write_after_night, write_in_background

    if background:
        return write_in_background(m.runtime, night)
    return write_after_night(m.runtime, night)
