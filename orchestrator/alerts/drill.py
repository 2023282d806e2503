"""The GRB drill in simulation: a fading transient put into the simulated sky (the camera
simulator's star catalogue) at a notice's position, so the camera really sees it and the
pipeline's error-box report has something to find. `pyros alerts replay --inject` uses it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from orchestrator.alerts.notice import NoticeRejected, parse_notice
from orchestrator.errors import InputError
from simulators.gaia_catalog import (
    fading_mag,
    inject_transient,
    remove_transient,
    set_transient_mag,
)

MIN_T_S = 10.0  # a power law diverges at the trigger: no brighter than its value 10 s after
DEFAULT_T0_S = 60.0


@dataclass(frozen=True)
class FadingLaw:
    """m(t) = m0 + 2.5 alpha log10(t / t0), t in seconds since the trigger."""

    m0: float
    alpha: float = 0.0
    t0_s: float = DEFAULT_T0_S

    def mag(self, since_trigger_s: float) -> float:
        return fading_mag(self.m0, self.alpha, self.t0_s, max(since_trigger_s, MIN_T_S))


def parse_law(text: str) -> FadingLaw:
    """'MAG[,ALPHA[,T0_S]]' -> FadingLaw; MAG is the magnitude T0_S after the trigger."""
    parts = [p.strip() for p in text.split(",")]
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if not 1 <= len(values) <= 3 or not all(v == v for v in values):  # v == v: not NaN
        raise InputError("--inject", f"must be MAG[,ALPHA[,T0_S]] numbers (got {text!r})")
    law = FadingLaw(*values)
    if not -5.0 <= law.m0 <= 30.0:
        raise InputError("--inject", f"MAG must be between -5 and 30 (got {law.m0:g})")
    if not 0.0 <= law.alpha <= 5.0:
        raise InputError("--inject", f"ALPHA must be between 0 and 5 (got {law.alpha:g})")
    if law.t0_s <= 0:
        raise InputError("--inject", f"T0_S must be > 0 seconds (got {law.t0_s:g})")
    return law


@dataclass
class InjectedTransient:
    catalog: Path
    rowid: int
    ra_deg: float
    dec_deg: float
    trigger: datetime
    law: FadingLaw

    def mag_at(self, now: datetime) -> float:
        return self.law.mag((now - self.trigger).total_seconds())

    def update(self, now: datetime) -> float:
        """Write the magnitude the transient has at `now`; returns it."""
        mag = self.mag_at(now)
        set_transient_mag(self.catalog, self.rowid, mag)
        return mag

    def remove(self) -> None:
        remove_transient(self.catalog, self.rowid)


def inject_at_notice(
    catalog: Path, payload: bytes, now: datetime, law: FadingLaw, max_payload_bytes: int = 10**6
) -> InjectedTransient:
    """Put a transient at the notice's position, with the brightness it has `now`."""
    if not Path(catalog).is_file():
        raise InputError(
            "--catalog", f"no simulator star catalogue at {catalog} (start the simulator first)"
        )
    try:
        notice = parse_notice(payload, now, max_payload_bytes, 365 * 86400.0)  # any trigger time
    except NoticeRejected as exc:
        raise InputError("--inject", f"cannot read the notice's position: {exc}") from None
    if not notice.has_position:
        raise InputError("--inject", "the notice has no position to put a transient at")
    trigger = notice.trigger_time or now
    mag = law.mag((now - trigger).total_seconds())
    rowid = inject_transient(catalog, notice.ra_deg, notice.dec_deg, mag)
    return InjectedTransient(catalog, rowid, notice.ra_deg, notice.dec_deg, trigger, law)
