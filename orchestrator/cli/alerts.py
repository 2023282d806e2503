"""`pyros alerts ...`: list and show stored alerts (decisions, latency chain), replay notice
files to a source (the alert simulator), and dry-run the strategies on a file.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click

from orchestrator.cli.context import CliContext, config_option
from orchestrator.errors import InputError


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(str(path), f"cannot read ({exc.strerror})") from None


def parse_since(text: str, now: datetime) -> datetime:
    """'2h', '30m', '1d' before now, or an ISO 8601 instant (UTC if no zone)."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([smhd])", text.strip())
    if match:
        unit = {"s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]
        return now - timedelta(seconds=float(match.group(1)) * unit)
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(
            "--since", f"must be like 2h, 30m, 1d or an ISO time (got {text!r})"
        ) from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when


@click.group("alerts")
def alerts_group() -> None:
    """Alerts (GRB and other transients): list, show, replay, strategies."""


@alerts_group.command("list")
@click.option("--since", default=None, help="Only alerts received since: 2h, 1d or ISO time.")
@config_option
@click.pass_obj
def list_cmd(obj: CliContext, since: str | None) -> None:
    """One line per stored alert, newest first."""
    from sqlalchemy import select

    from orchestrator.model import Alert

    runtime = obj.runtime("alerts")
    query = select(Alert).order_by(Alert.id.desc())
    if since:
        query = query.where(Alert.received >= parse_since(since, runtime.clock.now()))
    with runtime.sessions() as session:
        rows = list(session.scalars(query))
        click.echo(
            f"{'ID':>5} {'RECEIVED (UTC)':19} {'SOURCE':6} {'MISSION':16} "
            f"{'KIND':11} {'STATUS':10} TRIGGER / REASON"
        )
        for a in rows:
            what = f"{a.mission} {a.instrument}".strip() or "-"
            tail = a.trigger_id or ""
            if a.reason:
                tail = f"{tail} {a.reason}".strip()
            click.echo(
                f"{a.id:>5} {a.received:%Y-%m-%d %H:%M:%S} {a.source:6} {what[:16]:16} "
                f"{a.kind:11} {a.status:10} {tail[:90]}"
            )
    if not rows:
        click.echo("no alerts")


@alerts_group.command("show")
@click.argument("alert_id", type=int)
@click.option("--payload", is_flag=True, help="Also print the raw payload as received.")
@config_option
@click.pass_obj
def show_cmd(obj: CliContext, alert_id: int, payload: bool) -> None:
    """An alert: what it says, each decision with its reason, its latency chain, and the
    pipeline's newest error-box report (or why there is none yet)."""
    from sqlalchemy import select

    from orchestrator.alerts.store import LATENCY_STEPS
    from orchestrator.model import Alert, AlertDecision
    from orchestrator.pipeline.report_view import report_lines

    runtime = obj.runtime("alerts")
    with runtime.sessions() as session:
        a = session.get(Alert, alert_id)
        if a is None:
            raise InputError("ID", f"no alert {alert_id}")
        position = (
            f"RA {a.ra_deg:.4f} Dec {a.dec_deg:.4f} deg, error {a.error_radius_deg:g} deg"
            if a.ra_deg is not None
            else "none"
        )
        lines = [
            f"alert {a.id}: {a.ivorn}",
            f"  source      {a.source}, received {a.received.isoformat(timespec='milliseconds')}",
            f"  mission     {a.mission} {a.instrument} (type {a.notice_type or '-'}, "
            f"role {a.role or '-'})",
            f"  trigger     {a.trigger_id or '-'} at "
            f"{a.event_time.isoformat(timespec='milliseconds') if a.event_time else '-'}",
            f"  position    {position}",
            f"  kind        {a.kind}; status {a.status}; strategy {a.strategy or '-'}",
            f"  request     {a.request_id or '-'}"
            + (f"; updates alert {a.supersedes_id}" if a.supersedes_id else ""),
        ]
        if a.reason:
            lines.append(f"  reason      {a.reason}")
        lines.append("  decisions")
        for d in session.scalars(
            select(AlertDecision).where(AlertDecision.alert_id == a.id).order_by(AlertDecision.id)
        ):
            lines.append(f"    {d.time:%H:%M:%S} {d.action:15} {d.reason}")
        lines.append("  latency (ms after arrival)")
        chain = a.latency_ms or {}
        for step in LATENCY_STEPS:
            if step in chain:
                lines.append(f"    {step:10} {chain[step]:10.1f}")
        missing = [s for s in LATENCY_STEPS if s not in chain]
        if missing:
            lines.append(f"    (not reached or not measured: {', '.join(missing)})")
        lines += report_lines(runtime, a)
        click.echo("\n".join(lines))
        if payload:
            click.echo(a.payload)


@alerts_group.command("replay")
@click.argument("files", nargs=-1, type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--to",
    "to",
    default="folder",
    show_default=True,
    help="folder | 'vtp HOST:PORT' (a broker's receive port) | 'kafka ADDR'.",
)
@click.option("--at", "at", default=None, help="Seconds after start, one per file: 0,5,12.")
@click.option("--topic", default="gcn.notices.pyros.replay", show_default=True, help="Kafka topic.")
@click.option(
    "--fresh/--as-is",
    default=True,
    show_default=True,
    help="Trigger time = now and a unique IVORN/id, so strategies act on old files.",
)
@click.option(
    "--scenario",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="A scenario file: its alertSimulator events are played into the folder.",
)
@click.option(
    "--inject",
    "inject",
    default=None,
    metavar="MAG[,ALPHA[,T0_S]]",
    help="GRB drill: put a transient in the simulator's sky at each notice's position, "
    "MAG at T0_S (default 60) s after the trigger, fading as t^-ALPHA (default 0: steady).",
)
@click.option(
    "--fade-for",
    "fade_for_s",
    type=float,
    default=3600.0,
    show_default=True,
    help="With --inject: seconds to keep the transient (its magnitude updated) before removing it.",
)
@click.option(
    "--catalog",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="With --inject: the simulator's star catalogue (default: DATA/gaia_sources.db).",
)
@config_option
@click.pass_obj
def replay_cmd(
    obj: CliContext,
    files: tuple[Path, ...],
    to: str,
    at: str | None,
    topic: str,
    fresh: bool,
    scenario: Path | None,
    inject: str | None,
    fade_for_s: float,
    catalog: Path | None,
) -> None:
    """Send notice files to PyROS as a real source would (the alert simulator); with
    --inject, also put a fading transient in the simulated sky at each notice's position."""
    from orchestrator.alerts import drill, replay

    runtime = obj.runtime("alerts")
    if scenario is not None:
        _play_scenario(runtime, scenario)
        return
    if not files:
        raise InputError("FILE", "give at least one notice file (or --scenario)")
    kind, address = replay.parse_target(to)
    offsets = replay.parse_offsets(at, len(files))
    law = drill.parse_law(inject) if inject is not None else None
    if fade_for_s < 0:
        raise InputError("--fade-for", f"must be >= 0 seconds (got {fade_for_s:g})")
    if law is not None:
        from simulators.alpaca_sim import CATALOG_NAME

        catalog = catalog or runtime.config.folders.data / CATALOG_NAME
        if not catalog.is_file():
            raise InputError(
                "--catalog", f"no simulator star catalogue at {catalog} (start the simulator first)"
            )
    payloads = [(f, _read(f)) for f in files]
    injected: list[drill.InjectedTransient] = []
    try:
        _send(runtime, payloads, offsets, kind, address, topic, fresh, law, catalog, injected)
        if injected:
            _fade(runtime.clock, injected, fade_for_s)
    finally:
        for transient in injected:
            transient.remove()
        if injected:
            click.echo(f"{len(injected)} transient(s) removed from {catalog}")


def _send(runtime, payloads, offsets, kind, address, topic, fresh, law, catalog, injected) -> None:
    from orchestrator.alerts import drill, replay

    clock = runtime.clock
    start = clock.now()
    for (path, payload), offset in sorted(zip(payloads, offsets, strict=True), key=lambda x: x[1]):
        wait_s = offset - (clock.now() - start).total_seconds()
        if wait_s > 0:
            clock.sleep(wait_s)
        data = replay.freshen(payload, clock.now()) if fresh else payload
        if law is not None:  # in the sky before the notice arrives, as a real burst would be
            transient = drill.inject_at_notice(
                catalog, data, clock.now(), law, runtime.config.alerts.max_payload_bytes
            )
            injected.append(transient)
            click.echo(
                f"{path.name}: transient at RA {transient.ra_deg:.5f} Dec {transient.dec_deg:.5f}"
                f" deg, mag {transient.mag_at(clock.now()):.2f} now ({catalog})"
            )
        if kind == "folder":
            where = replay.to_folder(runtime.config.folders.voevents, path.name, data)
            click.echo(f"{path.name}: written to {where}")
        elif kind == "vtp":
            answer = replay.to_vtp(address, data)
            click.echo(f"{path.name}: broker answered {answer}")
            if answer != "ack":
                raise InputError(str(path), f"the broker answered {answer}, not ack")
        else:
            replay.to_kafka(address, topic, data)
            click.echo(f"{path.name}: produced to {topic} at {address}")


def _fade(clock, injected, fade_for_s: float, period_s: float = 5.0) -> None:
    """Keep each transient's magnitude on its law until `fade_for_s` has passed (or ^C)."""
    start = clock.now()
    click.echo(f"fading for {fade_for_s:g} s (^C removes the transient(s) now)")
    while (elapsed_s := (clock.now() - start).total_seconds()) < fade_for_s:
        for transient in injected:
            transient.update(clock.now())
        clock.sleep(min(period_s, fade_for_s - elapsed_s))


def _play_scenario(runtime, path: Path) -> None:
    from simulators.scenario import (
        ALERT_SIMULATOR,
        ScenarioPlayer,
        alert_simulator_action,
        load_scenario,
    )

    scenario = load_scenario(path).for_simulator(ALERT_SIMULATOR)
    player = ScenarioPlayer(scenario, runtime.clock.now())
    pending = len(scenario.events)
    while pending:
        for event in player.due(runtime.clock.now()):
            where = alert_simulator_action(
                event, path.parent, runtime.config.folders.voevents, runtime.clock.now()
            )
            click.echo(f"t={event.time_s:g} s: {event.action} written to {where}")
            pending -= 1
        if pending:
            runtime.clock.sleep(0.1)


@alerts_group.command("strategies")
@click.argument("files", nargs=-1, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--fresh", is_flag=True, help="Judge each file as if it had just been sent.")
@config_option
@click.pass_obj
def strategies_cmd(obj: CliContext, files: tuple[Path, ...], fresh: bool) -> None:
    """List the strategies; with FILEs, what they would do with each (a dry run)."""
    from orchestrator.alerts.notice import NoticeRejected, parse_notice
    from orchestrator.alerts.replay import freshen
    from orchestrator.alerts.strategy import judge, load_strategies
    from orchestrator.requests.builder import RequestBuilder

    runtime = obj.runtime("alerts")
    cfg = runtime.config.alerts
    strategies = load_strategies(cfg.strategies)
    if not files:
        for s in strategies:
            plans = ", ".join(
                f"{ch} {p.count}x{p.exposure_s:g}s {p.filter}"
                for ch, plist in (("VIS", s.vis), ("NIR", s.nir))
                for p in plist
            )
            match = "; ".join(f"{k}={','.join(v)}" for k, v in s.match.model_dump().items() if v)
            click.echo(
                f"{s.name} ({s.source}): {s.action}, priority {s.priority:g}, "
                f"error <= {s.max_error_radius_deg:g} deg, valid {s.valid_for_s:g} s "
                f"after trigger; match {match or 'all'}; {plans or 'no plans'}"
            )
        return
    builder = RequestBuilder(runtime.config, runtime.clock)
    now = runtime.clock.now()
    for path in files:
        payload = _read(path)
        if fresh:
            payload = freshen(payload, now)
        try:
            notice = parse_notice(payload, now, cfg.max_payload_bytes, cfg.future_tolerance_s)
        except NoticeRejected as exc:
            click.echo(f"{path.name}: rejected: {exc}")
            continue
        verdict = judge(strategies, notice, now, builder.minimum_duration_s)
        what = "OBSERVE" if verdict.observe else "record"
        click.echo(
            f"{path.name}: {notice.kind.value}, {notice.mission} {notice.instrument} "
            f"trigger {notice.trigger_id}: {what}: {verdict.reason}"
        )
        if verdict.spec is not None:
            seq = verdict.spec.sequences[0]
            try:
                builder.validate(verdict.spec)
                check = "the request builder accepts it"
            except InputError as exc:
                check = f"the request builder would refuse it: {exc}"
            click.echo(
                f"    RA {seq.ra_deg:.4f} Dec {seq.dec_deg:.4f}, {seq.duration_s:g} s, "
                f"priority {seq.priority:g}, until {seq.window_end:%Y-%m-%d %H:%M} UTC; "
                f"{check}"
            )


def register(cli: click.Group) -> None:
    cli.add_command(alerts_group)
