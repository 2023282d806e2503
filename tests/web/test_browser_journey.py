"""A person's journey in Debian's headless Chromium against a running `pyros start` (one
system for the module): register → approved by the admin → log in → submit a request by the
form and one by XML upload → the admin re-plans → both are in tonight's schedule → the admin
switches to MANUAL and opens the dome on the majordome page (the site is SAFE: not forced) →
rain at the PLC simulator shows UNSAFE on the dashboard → a `pyros alerts replay` notice shows
in the alerts history with its outcome. Then writes without a session, a CSRF token or the
role are refused by the running server and change nothing.

The system: `pyros start` runs the orchestrator, the web and the gateway on a simulated clock
(2026-11-25 20:00 UTC, daytime at COLIBRI: the majordome waits for the night, nothing observes
by itself); its devices are alpaca-simulators and the PLC is our PLC simulator over TCP, both
run by the test (`simulators.enabled = false`) so that the test can make it rain.
Screenshots of each page go to the test's tmp folder (PYROS_SCREENSHOTS=DIR keeps them).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright
from sqlalchemy import create_engine, func, select

from orchestrator.model import Request, Schedule, User
from simulators.plc_simulator import PlcSimulator
from tests.device_peers import reset_alpaca
from tests.faults.conftest import site_config
from tests.helpers import pyros, stop_process_tree, wait_for
from tests.orchestrator.request_helpers import EXAMPLES_DIR
from tests.web.conftest import CHROMIUM_ARGS

ADMIN_PASSWORD = "admin-password-1"
VOEVENT = Path(__file__).parents[1] / "data" / "voevents" / "svom__eclairs__eclairs_296.xml"
SHUTTER_OPEN = 0  # ASCOM ShutterState


@pytest.fixture(scope="module")
def system(tmp_path_factory, alpaca_simulator):
    """`pyros start` on simulators, up and SAFE; yields (folder, web URL, PLC, engine, alpaca)."""
    folder = tmp_path_factory.mktemp("journey")
    ports = site_config(folder)
    reset_alpaca(alpaca_simulator)
    plc = PlcSimulator().start()
    text = (folder / "pyros.toml").read_text()
    text = text.replace(f"127.0.0.1:{ports['alpaca']}", alpaca_simulator.address)
    text = text.replace(f"127.0.0.1:{ports['plc']}", plc.address)
    text = text.replace("enabled = true ", "enabled = false", 1)  # [simulators]: the test's
    text = text.replace("[clock]\n", "[clock]\nstart = 2026-11-25T20:00:00Z\n", 1)
    text = text.replace("reopen_delay_s = 900.0", "reopen_delay_s = 3.0")  # SAFE soon
    text = text.replace("[pipeline]\nenabled = true", "[pipeline]\nenabled = false")
    (folder / "pyros.toml").write_text(text)
    env = {**os.environ, "PYROS_ADMIN_PASSWORD": ADMIN_PASSWORD}
    done = pyros("init", cwd=folder, env=env)
    assert done.returncode == 0, done.stderr
    log = (folder / "start.out").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "orchestrator.cli", "start"],
        cwd=folder,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{ports['web']}"
    engine = create_engine(f"sqlite:///{folder / 'var' / 'pyros.db'}")
    try:
        status = lambda: json.load(urllib.request.urlopen(f"{url}/api/status", timeout=2))  # noqa: E731
        # the orchestrator goes on starting while the browser works: its commands wait for it
        wait_for(lambda: status()["database"]["ok"], 60, 0.2, what="the web page")
        wait_for(lambda: status()["safety"]["is_safe"], 30, 0.2, what="SAFE weather")
        yield folder, url, plc, engine, alpaca_simulator
    finally:
        stop_process_tree(proc)
        log.close()
        plc.stop()
        engine.dispose()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("PYROS_SCREENSHOTS", tmp_path / "shots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _log_in(page, url: str, username: str, password: str) -> None:
    page.goto(f"{url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("form.narrow button[type=submit]")
    page.wait_for_selector("#me")


def _count(engine, model) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(model)).scalar_one()


def _admin_id(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(select(User.id).where(User.username == "admin")).scalar_one()


def _command(page, url: str, kind: str) -> str:
    """Send a command by its button on the majordome page; the page's answer once it is done."""
    page.goto(f"{url}/majordome")
    page.click(f"#cmd-{kind}")
    page.wait_for_selector("#result.done, #result.refused, #result.failed", timeout=90_000)
    return page.text_content("#result")


def _listed_alert(page, url: str) -> str | None:
    """The alerts history's first row, once the alert manager has acted on it."""
    page.goto(f"{url}/alerts")
    rows = page.locator("#alerts tr[id^=alert-]")
    if rows.count() == 0 or rows.first.locator("td.status").text_content() == "received":
        return None
    return rows.first.text_content()


def _shutter(alpaca) -> int:
    url = f"http://{alpaca.address}/api/v1/dome/0/shutterstatus"
    with urllib.request.urlopen(url, timeout=2) as answer:
        return json.load(answer)["Value"]


def test_register_submit_schedule_dome_rain_and_alert(system, browser, tmp_path):
    folder, url, plc, engine, alpaca = system
    shots = _shots(tmp_path)
    page = browser.new_page(viewport={"width": 1200, "height": 1000})
    page.goto(f"{url}/register")
    page.fill("input[name=username]", "vera")
    page.fill("input[name=email]", "vera@example.org")
    page.fill("input[name=password]", "stars-and-more")
    page.fill("input[name=password2]", "stars-and-more")
    page.click("form.narrow button[type=submit]")
    assert "waits for an admin" in page.text_content("#done")
    page.goto(f"{url}/login")
    page.fill("input[name=username]", "vera")
    page.fill("input[name=password]", "stars-and-more")
    page.click("form.narrow button[type=submit]")
    assert "not approved" in page.text_content("#error")

    admin = browser.new_page(viewport={"width": 1200, "height": 900})
    _log_in(admin, url, "admin", ADMIN_PASSWORD)
    admin.goto(f"{url}/admin/users")
    assert "waiting for approval" in admin.text_content("#user-vera .state")
    admin.click("#user-vera button.approve")
    assert admin.text_content("#user-vera .state") == "active"

    _log_in(page, url, "vera", "stars-and-more")
    page.goto(f"{url}/requests/new")
    for name, value in {
        "name": "Crab tonight", "target_name": "M1", "ra_deg": "83.6331",
        "dec_deg": "22.0145", "window_start": "2026-11-25T12:00",
        "window_end": "2026-11-27T12:00", "duration_s": "600", "vis_exposure_s": "60",
        "vis_count": "3",
    }.items():  # fmt: skip
        page.fill(f"input[name={name}]", value)
    page.click("form.request-form button[type=submit]")
    assert "accepted: 1 sequence(s)" in page.text_content("#done"), page.content()
    upload = tmp_path / "m42.xml"  # the example file without its program: vera is in none
    upload.write_text(
        (EXAMPLES_DIR / "routine_request_01.xml").read_text().replace(' program="ROUTINE"', "")
    )
    page.goto(f"{url}/requests/new")
    page.set_input_files("input[name=xml_file]", str(upload))
    page.click("form.request-form button[type=submit]")
    assert "accepted: 1 sequence(s)" in page.text_content("#done, #error")
    page.goto(f"{url}/requests")
    assert len(page.locator("#requests tr").all()[1:]) == 2
    page.screenshot(path=str(shots / "requests.png"), full_page=True)

    # vera may not re-plan; the admin (an operator too) does, on the running system
    page.goto(f"{url}/schedule")
    assert page.locator("#replan").count() == 0
    admin.goto(f"{url}/schedule")
    admin.click("#replan")
    admin.wait_for_selector("#entries")
    targets = [c.text_content() for c in admin.locator("#entries tr td:nth-child(3)").all()]
    assert "M1" in targets and "M42" in targets, targets
    assert "2026-11-25" in admin.text_content("#schedule-summary")  # tonight's night
    admin.wait_for_function("window.pyrosSchedule.gantt !== undefined")
    admin.screenshot(path=str(shots / "schedule.png"), full_page=True)
    page.goto(f"{url}/schedule")
    assert "M1" in page.text_content("#entries")

    # the admin (an operator) switches to MANUAL and opens the simulator's dome on the
    # majordome page; the site is SAFE, so the dome opens without forcing
    assert _command(admin, url, "manual").endswith("(manual) done: mode MANUAL")
    admin.wait_for_function(
        "document.getElementById('m-mode').textContent === 'MANUAL'", timeout=10_000
    )
    assert admin.text_content("#m-safety").startswith("Safety: SAFE")
    assert not admin.is_checked("#cmd-dome_open ~ label input[name=force]")
    assert _command(admin, url, "dome_open").endswith("(dome_open) done: shutter open")
    wait_for(lambda: _shutter(alpaca) == SHUTTER_OPEN, 30, 0.2, what="the dome open")
    assert "web:admin" in admin.text_content("#commands")
    admin.screenshot(path=str(shots / "majordome_manual_dome_open.png"), full_page=True)
    page.goto(f"{url}/")
    page.wait_for_function(
        "document.getElementById('majordome').textContent.includes('MANUAL')", timeout=10000
    )
    assert page.text_content("#verdict") == "SAFE"

    # rain at the PLC simulator: the open dashboard says UNSAFE by itself within 5 s
    plc.set_value("WXT520", "RainRate", 4.0)
    page.wait_for_function(
        "document.getElementById('verdict').textContent === 'UNSAFE'", timeout=5000
    )
    assert "rain" in page.text_content("#reasons")
    page.screenshot(path=str(shots / "dashboard_rain.png"), full_page=True)

    # an alert replayed into the watched folder shows in the alerts history with its outcome
    done = pyros("alerts", "replay", str(VOEVENT), cwd=folder)
    assert done.returncode == 0, done.stdout + done.stderr
    row = wait_for(lambda: _listed_alert(admin, url), 30, 0.5, what="the alert in the history")
    assert "SVOM" in row, row
    admin.screenshot(path=str(shots / "alerts_replayed.png"), full_page=True)
    admin.close()
    page.close()


def test_writes_without_session_csrf_or_role_are_refused_and_change_nothing(system, browser):
    folder, url, plc, engine, alpaca = system
    before = _count(engine, Request)
    body = (EXAMPLES_DIR / "routine_request_02.xml").read_text()
    context = browser.new_context()
    anonymous = context.request
    assert anonymous.post(f"{url}/api/requests", data=body).status == 401
    assert anonymous.post(f"{url}/api/schedule/replan").status == 401
    assert anonymous.delete(f"{url}/api/requests/1").status == 401
    assert anonymous.post(f"{url}/schedule/replan").status == 400  # a form: no CSRF token

    page = context.new_page()
    _log_in(page, url, "vera", "stars-and-more")  # approved by the journey above
    session = context.request  # the browser's session cookie, but no CSRF header
    assert session.post(f"{url}/api/requests", data=body).status == 400
    assert session.delete(f"{url}/api/requests/1").status == 400
    page.goto(f"{url}/requests")
    token = page.get_attribute("input[name=csrf_token]", "value")
    with_token = {"X-CSRFToken": token}
    # the right token, the wrong role: an observer neither re-plans nor approves
    assert session.post(f"{url}/api/schedule/replan", headers=with_token).status == 403
    assert session.post(f"{url}/schedule/replan", form={"csrf_token": token}).status == 403
    deactivate = {"csrf_token": token, "action": "deactivate"}
    assert session.post(f"{url}/admin/users/{_admin_id(engine)}", form=deactivate).status == 403
    assert _count(engine, Request) == before
    # the running orchestrator re-plans on its own (a sequence ends, a slot passes): no
    # schedule of an operator's re-plan, which is what the refused requests would have made
    with engine.connect() as connection:
        triggers = set(connection.execute(select(Schedule.trigger)).scalars())
    assert "operator vera" not in triggers, triggers
    with engine.connect() as connection:
        assert connection.execute(select(User.is_active).where(User.username == "admin")).scalar()
    context.close()
