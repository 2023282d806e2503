"""The one request builder: checks a `RequestSpec` and writes it, all or nothing.

The CLI (`pyros submit`), the web API and the alert manager all come here, so a request is
judged the same way whichever door it came through. Checks beyond the XML schema: ranges,
windows on the injected clock, filters of the configured wheels, duration against exposures and
overheads, the user's role, program membership and quotas. Then request → sequences → albums →
plans are added in the caller's transaction (or in one of our own with `submit`); `insert`
writes the same rows with statements only, for an alert on its way to the mount.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import insert
from sqlalchemy.orm import Session, sessionmaker

from orchestrator.clock import Clock
from orchestrator.config import Config
from orchestrator.errors import InputError
from orchestrator.model import (
    Album,
    Channel,
    Plan,
    Request,
    ScientificProgram,
    Sequence,
    SequenceStatus,
    User,
)
from orchestrator.requests.spec import AlbumSpec, PlanSpec, RequestSpec, SequenceSpec
from orchestrator.users import (
    Forbidden,
    Permission,
    check_quota,
    find_program,
    find_user,
    has_permission,
    require,
)

TWILIGHTS = ("civil", "nautical", "astronomical")
CHANNEL_DEVICES = {  # channel: (camera role, filter wheel role)
    Channel.VIS: ("camera_vis", "filterwheel_vis"),
    Channel.NIR: ("camera_nir", "filterwheel_nir"),
}
MAX_NAME_LENGTH = 128  # the name columns of the model
MAX_PRIORITY = 100.0


@dataclass(frozen=True)
class Submitted:
    request_id: int
    sequence_ids: tuple[int, ...]
    duration_h: float
    username: str
    program: str | None


class RequestBuilder:
    def __init__(self, config: Config, clock: Clock):
        self.config = config
        self.clock = clock

    # -- checks that need no database ------------------------------------------------------

    def filters(self, channel: Channel) -> tuple[str, ...]:
        _, wheel = CHANNEL_DEVICES[channel]
        device = getattr(self.config.devices, wheel)
        return device.filters if device is not None else ()

    def minimum_duration_s(self, sequence: SequenceSpec) -> float:
        """Slew, then the albums in parallel (VIS and NIR expose at once): the longest one."""
        overheads = self.config.overheads
        longest = 0.0
        for album in sequence.albums:
            changes = sum(
                1
                for i, plan in enumerate(album.plans)
                if i == 0 or plan.filter_name != album.plans[i - 1].filter_name
            )
            exposing = sum(p.count * (p.exposure_s + overheads.readout_s) for p in album.plans)
            longest = max(longest, exposing + changes * overheads.filter_change_s)
        return overheads.slew_s + longest

    def validate(self, spec: RequestSpec) -> None:
        """Every check that depends only on the spec, the config and the clock."""
        _check_name("name", spec.name)
        if spec.program is not None:
            _check_name("program", spec.program, 64)
        if not spec.sequences:
            raise InputError("sequences", "a request needs at least one sequence")
        now = self.clock.now()
        for i, sequence in enumerate(spec.sequences):
            self._validate_sequence(f"sequences[{i}]", sequence, now)

    def _validate_sequence(self, where: str, seq: SequenceSpec, now: datetime) -> None:
        _check_name(f"{where}.name", seq.name)
        _check_name(f"{where}.target_name", seq.target_name)
        _check_range(f"{where}.ra_deg", seq.ra_deg, 0.0, 360.0, high_open=True)
        _check_range(f"{where}.dec_deg", seq.dec_deg, -90.0, 90.0)
        _check_range(f"{where}.priority", seq.priority, 0.0, MAX_PRIORITY)
        _check_range(f"{where}.min_altitude_deg", seq.min_altitude_deg, 0.0, 90.0)
        if seq.max_airmass is not None:
            _check_range(f"{where}.max_airmass", seq.max_airmass, 1.0, 10.0)
        if seq.min_moon_separation_deg is not None:
            _check_range(f"{where}.min_moon_separation_deg", seq.min_moon_separation_deg, 0, 180)
        self._check_rises(where, seq)
        if seq.twilight is not None and seq.twilight not in TWILIGHTS:
            raise InputError(f"{where}.twilight", f"must be one of {', '.join(TWILIGHTS)}")
        start = _aware(f"{where}.window_start", seq.window_start)
        end = _aware(f"{where}.window_end", seq.window_end)
        if end <= start:
            raise InputError(f"{where}.window_end", f"must be after window_start ({_iso(start)})")
        if end <= now:
            raise InputError(f"{where}.window_end", f"{_iso(end)} is in the past (now {_iso(now)})")
        if seq.preferred_time is not None:
            preferred = _aware(f"{where}.preferred_time", seq.preferred_time)
            if not start <= preferred <= end:
                raise InputError(f"{where}.preferred_time", "must lie inside the window")
        if not seq.albums:
            raise InputError(f"{where}.albums", "a sequence needs at least one album")
        seen: set[Channel] = set()
        for j, album in enumerate(seq.albums):
            channel = self._validate_album(f"{where}.albums[{j}]", album)
            if channel in seen:
                raise InputError(f"{where}.albums[{j}].channel", f"a second {channel} album")
            seen.add(channel)
        _check_range(f"{where}.duration_s", seq.duration_s, 0.0, math.inf, low_open=True)
        needed = self.minimum_duration_s(seq)
        if seq.duration_s < needed:
            overheads = self.config.overheads
            raise InputError(
                f"{where}.duration_s",
                f"{seq.duration_s:g} s is shorter than the exposures and overheads: "
                f"{needed:g} s (slew {overheads.slew_s:g} s, readout {overheads.readout_s:g} s "
                f"per exposure, filter change {overheads.filter_change_s:g} s)",
            )
        window_s = (end - start).total_seconds()
        if seq.duration_s > window_s:
            raise InputError(
                f"{where}.duration_s",
                f"{seq.duration_s:g} s does not fit its {window_s:g} s window",
            )

    def _check_rises(self, where: str, seq: SequenceSpec) -> None:
        """A target that never culminates above the altitude limit can never be observed."""
        site = self.config.site
        highest_deg = 90.0 - abs(site.latitude_deg - seq.dec_deg)
        lowest_allowed_deg = max(seq.min_altitude_deg, site.horizon_deg)
        if highest_deg < lowest_allowed_deg:
            raise InputError(
                f"{where}.dec_deg",
                f"at Dec {seq.dec_deg:g} the target never rises above {highest_deg:.1f} deg at "
                f"this site (latitude {site.latitude_deg:g}); it must reach "
                f"{lowest_allowed_deg:g} deg (min_altitude_deg or the site's horizon_deg)",
            )

    def _validate_album(self, where: str, album: AlbumSpec) -> Channel:
        try:
            channel = Channel(album.channel)
        except ValueError:
            raise InputError(f"{where}.channel", "must be VIS or NIR") from None
        camera, _ = CHANNEL_DEVICES[channel]
        if getattr(self.config.devices, camera) is None:
            raise InputError(f"{where}.channel", f"this site has no {channel} camera")
        if not album.plans:
            raise InputError(f"{where}.plans", "an album needs at least one plan")
        known = self.filters(channel)
        for k, plan in enumerate(album.plans):
            self._validate_plan(f"{where}.plans[{k}]", plan, channel, known)
        return channel

    def _validate_plan(
        self, where: str, plan: PlanSpec, channel: Channel, known: tuple[str, ...]
    ) -> None:
        if plan.filter_name not in known:
            choice = ", ".join(known) if known else "none: no filter wheel is configured"
            raise InputError(
                f"{where}.filter_name",
                f"unknown {channel} filter {plan.filter_name!r} (available: {choice})",
            )
        _check_range(f"{where}.exposure_s", plan.exposure_s, 0.0, 86400.0, low_open=True)
        if not 1 <= plan.count <= 10000:
            raise InputError(f"{where}.count", f"must be 1-10000 (got {plan.count})")
        if not 1 <= plan.binning <= 8:
            raise InputError(f"{where}.binning", f"must be 1-8 (got {plan.binning})")

    # -- checks and writes in the database ---------------------------------------------------

    def authorize(
        self, session: Session, spec: RequestSpec, user: User
    ) -> ScientificProgram | None:
        """Role, program membership and quota; returns the program to charge."""
        require(user, Permission.SUBMIT_REQUEST, "submit requests")
        if spec.is_alert or any(seq.is_urgent for seq in spec.sequences):
            require(user, Permission.SUBMIT_URGENT, "submit urgent or alert requests")
        program = None
        if spec.program is not None:
            program = find_program(session, spec.program)
            member = user in program.members or program.pi_id == user.id
            if not member and not has_permission(user, Permission.ANY_PROGRAM):
                raise Forbidden(
                    "program", f"{user.username!r} is not a member of program {program.name!r}"
                )
        check_quota(session, user, program, spec.duration_s / 3600.0)
        return program

    def build(self, session: Session, spec: RequestSpec, user: User, source: str) -> Request:
        """Check everything, then add the request tree to `session` (flushed, not committed)."""
        self.validate(spec)
        program = self.authorize(session, spec, user)
        request = Request(
            name=spec.name,
            user=user,
            program=program,
            is_alert=spec.is_alert,
            submitted=self.clock.now(),
            source=source,
            sequences=[_sequence_row(seq) for seq in spec.sequences],
        )
        session.add(request)
        session.flush()
        return request

    def insert(self, session: Session, spec: RequestSpec, user: User, source: str) -> Submitted:
        """As `build` (the same checks), written with INSERT statements, no ORM object: the
        alert's urgent request, on its way to the mount. Not committed."""
        self.validate(spec)
        program = self.authorize(session, spec, user)
        request_id = session.execute(
            insert(Request.__table__)
            .values(
                name=spec.name,
                user_id=user.id,
                program_id=program.id if program is not None else None,
                is_alert=spec.is_alert,
                submitted=self.clock.now(),
                source=source,
            )
            .returning(Request.__table__.c.id)
        ).scalar_one()
        sequence_ids = tuple(_insert_sequence(session, request_id, seq) for seq in spec.sequences)
        return Submitted(
            request_id=request_id,
            sequence_ids=sequence_ids,
            duration_h=spec.duration_s / 3600.0,
            username=user.username,
            program=program.name if program is not None else None,
        )

    def submit(
        self, sessions: sessionmaker[Session], spec: RequestSpec, username: str, source: str
    ) -> Submitted:
        """`build` in a transaction of its own: committed whole, or rolled back whole."""
        with sessions.begin() as session:
            user = find_user(session, username)
            request = self.build(session, spec, user, source)
            return Submitted(
                request_id=request.id,
                sequence_ids=tuple(seq.id for seq in request.sequences),
                duration_h=spec.duration_s / 3600.0,
                username=user.username,
                program=request.program.name if request.program else None,
            )


def _sequence_fields(seq: SequenceSpec) -> dict:
    return dict(
        name=seq.name,
        target_name=seq.target_name,
        ra_deg=seq.ra_deg,
        dec_deg=seq.dec_deg,
        window_start=seq.window_start.astimezone(UTC),
        window_end=seq.window_end.astimezone(UTC),
        priority=seq.priority,
        duration_s=seq.duration_s,
        preferred_time=seq.preferred_time.astimezone(UTC) if seq.preferred_time else None,
        min_altitude_deg=seq.min_altitude_deg,
        max_airmass=seq.max_airmass,
        min_moon_separation_deg=seq.min_moon_separation_deg,
        twilight=seq.twilight,
        is_urgent=seq.is_urgent,
    )


def _insert_sequence(session: Session, request_id: int, seq: SequenceSpec) -> int:
    """One sequence (to be planned), its albums and plans: the rows `_sequence_row` makes."""
    table = Sequence.__table__
    sequence_id = session.execute(
        insert(table)
        .values(
            request_id=request_id,
            status=SequenceStatus.TO_BE_PLANNED,
            status_reason="",
            progress="",
            **_sequence_fields(seq),
        )
        .returning(table.c.id)
    ).scalar_one()
    for album in seq.albums:
        album_id = session.execute(
            insert(Album.__table__)
            .values(sequence_id=sequence_id, channel=Channel(album.channel), status="pending")
            .returning(Album.__table__.c.id)
        ).scalar_one()
        plans = [
            dict(
                album_id=album_id,
                filter_name=p.filter_name,
                exposure_s=p.exposure_s,
                count=p.count,
                binning=p.binning,
                status="pending",
                frames_done=0,
            )
            for p in album.plans
        ]
        session.execute(insert(Plan.__table__), plans)
    return sequence_id


def _sequence_row(seq: SequenceSpec) -> Sequence:
    return Sequence(
        **_sequence_fields(seq),
        albums=[
            Album(
                channel=Channel(album.channel),
                plans=[
                    Plan(
                        filter_name=p.filter_name,
                        exposure_s=p.exposure_s,
                        count=p.count,
                        binning=p.binning,
                    )
                    for p in album.plans
                ],
            )
            for album in seq.albums
        ],
    )


def spec_of_request(request: Request) -> RequestSpec:
    """The stored request as a spec again (export, API): the inverse of `build`."""
    return RequestSpec(
        name=request.name,
        program=request.program.name if request.program else None,
        is_alert=request.is_alert,
        sequences=[
            SequenceSpec(
                name=s.name,
                target_name=s.target_name,
                ra_deg=s.ra_deg,
                dec_deg=s.dec_deg,
                window_start=s.window_start,
                window_end=s.window_end,
                duration_s=s.duration_s,
                priority=s.priority,
                preferred_time=s.preferred_time,
                min_altitude_deg=s.min_altitude_deg,
                max_airmass=s.max_airmass,
                min_moon_separation_deg=s.min_moon_separation_deg,
                twilight=s.twilight,
                is_urgent=s.is_urgent,
                albums=[
                    AlbumSpec(
                        channel=Channel(a.channel).value,
                        plans=[
                            PlanSpec(p.filter_name, p.exposure_s, p.count, p.binning)
                            for p in a.plans
                        ],
                    )
                    for a in s.albums
                ],
            )
            for s in request.sequences
        ],
    )


def _check_name(field: str, value: str, max_length: int = MAX_NAME_LENGTH) -> None:
    if not value or not value.strip():
        raise InputError(field, "must not be empty")
    if len(value) > max_length:
        raise InputError(field, f"at most {max_length} characters (got {len(value)})")


def _check_range(
    field: str,
    value: float,
    low: float,
    high: float,
    low_open: bool = False,
    high_open: bool = False,
) -> None:
    """A finite number in [low, high] (or open at either end); NaN and infinity never pass."""
    ok = math.isfinite(value) and (value > low if low_open else value >= low)
    ok = ok and (value < high if high_open else value <= high)
    if not ok:
        lo = f"> {low:g}" if low_open else f">= {low:g}"
        if math.isinf(high):
            bounds = f"must be {lo}"
        else:
            bounds = f"must be {lo} and {'<' if high_open else '<='} {high:g}"
        raise InputError(field, f"{bounds} (got {value:g})")


def _aware(field: str, value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise InputError(field, "must carry a time zone, e.g. 2027-01-10T03:00:00Z")
    return value.astimezone(UTC)


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
