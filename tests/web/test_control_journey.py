"""An operator's journey in Debian's headless Chromium against the app served by waitress,
with the orchestrator's real command runner (the dome of alpaca-simulators) and the real
folder listener and alert manager: switch to MANUAL and see the command's result on the
page; the dome refused while UNSAFE, then opened when forced; a fake alert replayed into the
watched folder appears in the alerts history, its raw notice on its page. Screenshots go to
the test's tmp folder (PYROS_SCREENSHOTS=DIR keeps them).

Partial: as the other journey, the web app runs on a simulated site's database and threads,
not under a whole `pyros start`.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from orchestrator.alerts.listeners.folder import FolderListener
from orchestrator.alerts.manager import AlertManager
from orchestrator.config import parse_config
from orchestrator.devices.ports import ShutterState
from orchestrator.devices.registry import build_devices
from simulators.plc_simulator import PlcSimulator
from tests.device_peers import config_text, device_toml, reset_alpaca
from tests.helpers import wait_for
from tests.orchestrator.request_helpers import PASSWORD
from tests.web.conftest import serve
from tests.web.control_site import command_runner, control_site
from web import create_app


@pytest.fixture
def site(tmp_path, alpaca_simulator):
    reset_alpaca(alpaca_simulator)
    dome_config = parse_config(
        config_text(device_toml(alpaca=alpaca_simulator.address, roles=["dome"])), tmp_path
    )
    with PlcSimulator() as plc:
        runtime = control_site(tmp_path, plc)
        manager = AlertManager(runtime, replan=lambda rt, trigger: None)  # re-plan: planner's
        listener = FolderListener(manager, runtime.config.folders.voevents).start()
        wait_for(listener.connected.is_set, 10, what="the folder listener")
        devices = build_devices(dome_config, runtime.clock, roles=["dome"])
        try:
            with command_runner(runtime, devices):
                yield runtime, devices.get("dome")
        finally:
            devices.close()
            listener.stop()
            runtime.engine.dispose()


def _shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("PYROS_SCREENSHOTS", tmp_path / "shots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_operator_goes_manual_and_a_fake_alert_shows_in_the_history(site, page, tmp_path):
    site, dome = site
    shots = _shots(tmp_path)
    with serve(create_app(site)) as url:
        page.goto(f"{url}/login")
        page.fill("input[name=username]", "oscar")
        page.fill("input[name=password]", PASSWORD)
        page.click("form.narrow button[type=submit]")
        page.wait_for_selector("#me")

        page.goto(f"{url}/majordome")
        page.click("#cmd-manual")
        page.wait_for_selector("#result.done", timeout=15_000)
        assert page.text_content("#result").endswith("(manual) done: mode MANUAL")
        page.wait_for_function(
            "document.getElementById('m-mode').textContent === 'MANUAL'", timeout=10_000
        )
        page.click("#cmd-dome_open")  # not forced; the gateway does not answer: UNSAFE
        page.wait_for_selector("#result.refused", timeout=15_000)
        assert "UNSAFE" in page.text_content("#result")
        assert dome.shutter_state() == ShutterState.CLOSED  # nothing moved
        page.check("#cmd-dome_open ~ label input[name=force]")
        page.click("#cmd-dome_open")
        page.wait_for_selector("#result.done", timeout=60_000)
        assert page.text_content("#result").endswith("(dome_open) done: shutter open")
        assert dome.shutter_state() == ShutterState.OPEN
        assert "web:oscar" in page.text_content("#commands")
        page.screenshot(path=str(shots / "majordome.png"), full_page=True)

        page.goto(f"{url}/alerts")
        page.select_option("select[name=notice]", "svom__eclairs__eclairs_296.xml")
        page.click("#replay")

        def listed() -> bool:
            page.reload()
            return page.locator("#alerts tr[id^=alert-]").count() > 0

        wait_for(listed, 30, interval_s=0.5, what="the fake alert in the history")
        assert "SVOM" in page.text_content("#alerts")
        page.screenshot(path=str(shots / "alerts.png"), full_page=True)
        page.click("#alerts tr[id^=alert-] a")
        page.wait_for_selector("#payload")
        assert "VOEvent" in page.text_content("#payload")
        page.screenshot(path=str(shots / "alert_detail.png"), full_page=True)
