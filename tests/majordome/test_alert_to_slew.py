"""An alert reaches the mount inside one process: a notice file dropped in the voevents folder
while a routine sequence executes is stored, its urgent request planned, the routine sequence
pre-empted (back to the pool) and the mount slewed to the burst; the alert's latency chain
ends with the slew. Real peers: PLC simulator, our gateway, alpaca-simulators, inotify."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from orchestrator.model import Alert, Sequence
from tests.device_peers import reset_alpaca
from tests.helpers import wait_for
from tests.majordome.night_helpers import (
    alpaca_devices_toml,
    make_site,
    statuses,
    submit_sky_request,
)
from tests.orchestrator.alerts.conftest import json_notice

pytestmark = pytest.mark.timeout(600)

EP_VIS_ONLY = """
name = "ep-wxt-test"
description = "EP WXT, the VIS camera only (the test site has no NIR camera)"
priority = 90
max_error_radius_deg = 0.1
valid_for_s = 43200
min_altitude_deg = 20
twilight = "nautical"

[match]
missions = ["EP"]
instruments = ["WXT"]

[[vis]]
filter = "r"
exposure_s = 1
count = 2
"""


def _slewed_alert(runtime) -> Alert | None:
    with runtime.sessions() as session:
        for alert in session.scalars(select(Alert)):
            if "slew" in (alert.latency_ms or {}):
                session.expunge(alert)
                return alert
    return None


def test_an_alert_file_pre_empts_the_routine_and_slews_the_mount(tmp_path, alpaca_simulator):
    reset_alpaca(alpaca_simulator)
    strategies = tmp_path / "strategies"
    strategies.mkdir()
    (strategies / "ep.toml").write_text(EP_VIS_ONLY)
    site = make_site(
        tmp_path,
        f"sqlite:///{tmp_path / 'pyros.db'}",
        alpaca_devices_toml(alpaca_simulator.address),
        replace={"[alerts]": f'[alerts]\nstrategies = "{strategies}"'},
    )
    rt = site.runtime
    routine = submit_sky_request(rt, "routine", 80.0, 0.0, exposure_s=2.0, count=8)
    try:
        site.start_orchestrator()
        wait_for(
            lambda: statuses(rt, [routine])[routine] == "executing",
            180,
            0.1,
            what="the routine sequence executing",
        )
        folder = rt.config.folders.voevents
        partial = folder / ".ep.json.part"  # written, then renamed in: as a broker's client does
        partial.write_bytes(json_notice(rt, ident="01708000001"))
        partial.rename(folder / "ep.json")

        try:
            alert = wait_for(lambda: _slewed_alert(rt), 120, 0.05, what="the slew of the alert")
        except AssertionError:
            with rt.sessions() as session:
                seen = [
                    (a.id, a.status, a.reason, a.latency_ms, a.request_id)
                    for a in session.scalars(select(Alert))
                ]
            raise AssertionError(
                f"alerts stored: {seen}; files: {sorted(folder.rglob('*'))}"
            ) from None
        # The routine sequence was stopped (its exposure aborted) just before the slew went
        # out; its end is stored right after the slew: back in the pool (its reason is
        # rewritten by the re-plan that follows, so the status is checked).
        wait_for(
            lambda: statuses(rt, [routine])[routine] in ("to_be_planned", "planned"),
            30,
            0.02,
            what="the pre-empted routine sequence back in the pool",
        )
        chain = alert.latency_ms
        assert chain["slew"] >= chain["stored"] >= 0, chain  # stored before anything moved
        assert alert.request_id is not None
        with rt.sessions() as session:
            urgent = session.scalars(
                select(Sequence.id).where(Sequence.request_id == alert.request_id)
            ).all()
        assert len(urgent) == 1
        wait_for(
            lambda: statuses(rt, urgent)[urgent[0]] == "executed",
            180,
            0.1,
            what="the urgent sequence executed",
        )
    finally:
        site.close()
