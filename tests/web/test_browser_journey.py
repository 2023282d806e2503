"""A person's journey in Debian's headless Chromium against the app served by waitress:
register → approved by the admin → log in → submit a request by the form and one by XML
upload → the operator re-plans → both are in tonight's schedule. Screenshots of each page go
to the test's tmp folder (PYROS_SCREENSHOTS=DIR keeps them).

Partial: it runs the web app on the simulated site's database, not a whole `pyros start`.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from orchestrator.bootstrap import init_site
from tests.conftest import make_runtime
from tests.orchestrator.request_helpers import EXAMPLES_DIR
from tests.web.conftest import serve
from web import create_app

ADMIN_PASSWORD = "admin-password-1"


@pytest.fixture
def site(tmp_path, clock):
    runtime = make_runtime(tmp_path, clock, f"sqlite:///{tmp_path / 'pyros.db'}")
    init_site(runtime, ADMIN_PASSWORD)
    yield runtime
    runtime.engine.dispose()


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


def test_register_approve_submit_and_see_it_scheduled(site, page, tmp_path):
    shots = _shots(tmp_path)
    with serve(create_app(site)) as url:
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

        # the admin approves vera and puts her in the ROUTINE program's country-free pool
        admin = page.context.browser.new_page(viewport={"width": 1200, "height": 900})
        _log_in(admin, url, "admin", ADMIN_PASSWORD)
        admin.goto(f"{url}/admin/users")
        assert "waiting for approval" in admin.text_content("#user-vera .state")
        admin.screenshot(path=str(shots / "admin_users.png"), full_page=True)
        admin.click("#user-vera button.approve")
        assert admin.text_content("#user-vera .state") == "active"

        _log_in(page, url, "vera", "stars-and-more")
        page.goto(f"{url}/requests/new")
        page.fill("input[name=name]", "Crab tonight")
        page.fill("input[name=target_name]", "M1")
        page.fill("input[name=ra_deg]", "83.6331")
        page.fill("input[name=dec_deg]", "22.0145")
        page.fill("input[name=window_start]", "2026-11-24T12:00")
        page.fill("input[name=window_end]", "2026-11-26T12:00")
        page.fill("input[name=duration_s]", "600")
        page.fill("input[name=vis_exposure_s]", "60")
        page.fill("input[name=vis_count]", "3")
        page.click("form.request-form button[type=submit]")
        assert "accepted: 1 sequence(s)" in page.text_content("#done"), page.content()

        # the example file without its program: vera is in none
        xml = (EXAMPLES_DIR / "routine_request_01.xml").read_text()
        upload = tmp_path / "m42.xml"
        upload.write_text(xml.replace(' program="ROUTINE"', ""))
        page.goto(f"{url}/requests/new")
        page.set_input_files("input[name=xml_file]", str(upload))
        page.click("form.request-form button[type=submit]")
        assert "accepted: 1 sequence(s)" in page.text_content("#done, #error")
        page.screenshot(path=str(shots / "request_form.png"), full_page=True)

        page.goto(f"{url}/requests")
        rows = page.locator("#requests tr").all()[1:]
        assert len(rows) == 2
        page.screenshot(path=str(shots / "requests.png"), full_page=True)
        page.click("#requests a >> nth=0")
        page.wait_for_selector("#summary")
        page.screenshot(path=str(shots / "request_detail.png"), full_page=True)

        # vera may not re-plan; the admin (an operator too) does
        page.goto(f"{url}/schedule")
        assert page.locator("#replan").count() == 0
        admin.goto(f"{url}/schedule")
        admin.click("#replan")
        admin.wait_for_selector("#entries")
        targets = [c.text_content() for c in admin.locator("#entries tr td:nth-child(3)").all()]
        assert "M1" in targets and "M42" in targets, targets
        admin.screenshot(path=str(shots / "schedule.png"), full_page=True)

        page.goto(f"{url}/schedule")
        assert "M1" in page.text_content("#entries")
        page.goto(f"{url}/profile")
        page.screenshot(path=str(shots / "profile.png"), full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})  # a phone
        page.goto(f"{url}/")
        page.screenshot(path=str(shots / "status_phone.png"), full_page=True)
        admin.close()
