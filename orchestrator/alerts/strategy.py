"""Strategies as data: one TOML file per strategy says which notices it takes and what to do.

A strategy matches on mission, instrument, packet type and IVORN prefix; it observes or only
records; it refuses error boxes larger than the field of view, notices older than `valid_for_s`
after the trigger, and builds the urgent `RequestSpec` (channels, filters, exposures, counts).
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from orchestrator.alerts.notice import Kind, Notice
from orchestrator.errors import InputError
from orchestrator.requests.spec import AlbumSpec, PlanSpec, RequestSpec, SequenceSpec


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MatchRule(_Strict):
    missions: tuple[str, ...] = ()  # empty = any; compared case-insensitively
    instruments: tuple[str, ...] = ()
    packet_types: tuple[str, ...] = ()  # VOEvent Packet_Type or JSON alert_type
    ivorn_prefixes: tuple[str, ...] = ()


class ExposurePlan(_Strict):
    filter: str
    exposure_s: Annotated[float, Field(gt=0, le=3600)]
    count: Annotated[int, Field(ge=1, le=1000)] = 1


class Strategy(_Strict):
    name: str = Field(min_length=1, max_length=64)
    description: str = ""
    match: MatchRule
    action: Literal["observe", "record"] = "observe"
    priority: Annotated[float, Field(ge=0, le=100)] = 100.0
    max_error_radius_deg: Annotated[float, Field(gt=0, le=180)] = 0.25  # about the field of view
    valid_for_s: Annotated[float, Field(gt=0)] = 6 * 3600.0  # after the trigger
    min_altitude_deg: Annotated[float, Field(ge=0, le=90)] = 20.0
    twilight: Literal["civil", "nautical", "astronomical"] | None = "nautical"  # the Sun limit
    vis: tuple[ExposurePlan, ...] = ()  # e.g. a fast run of short exposures first
    nir: tuple[ExposurePlan, ...] = ()
    source: str = ""  # the file it was read from

    def matches(self, notice: Notice) -> bool:
        m = self.match

        def in_list(value: str, allowed: tuple[str, ...]) -> bool:
            return not allowed or value.lower() in {a.lower() for a in allowed}

        return (
            in_list(notice.mission, m.missions)
            and in_list(notice.instrument, m.instruments)
            and in_list(notice.notice_type, m.packet_types)
            and (not m.ivorn_prefixes or notice.key.startswith(m.ivorn_prefixes))
        )


@dataclass(frozen=True)
class Verdict:
    """What a strategy does with one notice: observe (with a spec) or record, and why."""

    strategy: str | None
    observe: bool
    reason: str
    spec: RequestSpec | None = None


def load_strategies(folder: Path | None) -> list[Strategy]:
    """Every *.toml of `folder` (default: the shipped ones), in name order; InputError if bad."""
    if folder is None:
        files = sorted(
            (
                f
                for f in resources.files("orchestrator.alerts.strategies").iterdir()
                if f.name.endswith(".toml")
            ),
            key=lambda f: f.name,
        )
    else:
        if not Path(folder).is_dir():
            raise InputError("alerts.strategies", f"{folder} is not a folder")
        files = sorted(Path(folder).glob("*.toml"))
    strategies = []
    for f in files:
        try:
            data = tomllib.loads(f.read_text(encoding="utf-8"))
            strategies.append(Strategy.model_validate({**data, "source": f.name}))
        except tomllib.TOMLDecodeError as exc:
            raise InputError(f.name, f"invalid TOML: {exc}") from None
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"])
            raise InputError(f"{f.name}: {where}", err["msg"]) from None
    return strategies


def judge(
    strategies: list[Strategy],
    notice: Notice,
    now: datetime,
    duration_of: Callable[[SequenceSpec], float],
) -> Verdict:
    """The first matching strategy decides; no match means record only."""
    if notice.kind is Kind.RETRACTION:
        return Verdict(None, False, "retraction: cancels the request of its trigger, if any")
    if notice.kind is Kind.TEST:
        return Verdict(None, False, f"test notice ({notice.note}): recorded only")
    if notice.kind is Kind.NO_POSITION:
        return Verdict(None, False, f"no usable position ({notice.note}): recorded only")
    strategy = next((s for s in strategies if s.matches(notice)), None)
    if strategy is None:
        return Verdict(None, False, "no strategy applies: recorded only")
    if strategy.action == "record":
        return Verdict(strategy.name, False, f"strategy {strategy.name} only records")
    err = notice.error_radius_deg or 0.0
    if err > strategy.max_error_radius_deg:
        return Verdict(
            strategy.name,
            False,
            f"error radius {err:g} deg larger than {strategy.max_error_radius_deg:g} deg "
            "(field of view): recorded only",
        )
    trigger = notice.trigger_time or now
    end = trigger + timedelta(seconds=strategy.valid_for_s)
    if end <= now:
        return Verdict(
            strategy.name,
            False,
            f"trigger {trigger.isoformat(timespec='seconds')} is more than "
            f"{strategy.valid_for_s:g} s old: recorded only",
        )
    if not strategy.vis and not strategy.nir:
        return Verdict(strategy.name, False, f"strategy {strategy.name} has no exposure plan")
    return Verdict(
        strategy.name,
        True,
        f"strategy {strategy.name}: observe",
        spec_for(strategy, notice, now, end, duration_of),
    )


def spec_for(
    strategy: Strategy,
    notice: Notice,
    now: datetime,
    end: datetime,
    duration_of: Callable[[SequenceSpec], float],
) -> RequestSpec:
    """The urgent request: from now until the strategy's validity ends; the builder's duration."""
    albums = [
        AlbumSpec(channel, [PlanSpec(p.filter, p.exposure_s, p.count) for p in plans])
        for channel, plans in (("VIS", strategy.vis), ("NIR", strategy.nir))
        if plans
    ]
    name = (notice.trigger_id or notice.key)[-100:]
    spec = RequestSpec(
        name=f"alert {name}",
        program=None,
        is_alert=True,
        sequences=[
            SequenceSpec(
                name=f"alert {name}",
                target_name=name,
                ra_deg=notice.ra_deg or 0.0,
                dec_deg=notice.dec_deg or 0.0,
                window_start=now,
                window_end=end,
                duration_s=0.0,
                albums=albums,
                priority=strategy.priority,
                min_altitude_deg=strategy.min_altitude_deg,
                twilight=strategy.twilight,
                is_urgent=True,
            )
        ],
    )
    sequence = spec.sequences[0]
    sequence.duration_s = duration_of(sequence)
    sequence.window_end = max(end, now + timedelta(seconds=sequence.duration_s + 1))
    return spec
