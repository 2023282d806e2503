"""The status page in a real headless Chromium: safety, tonight's schedule, jobs, devices;
it refreshes by itself from /api/status and says so when that is out of reach.

Requests are the ten routine example files submitted through the request builder, planned by
the real planner on the manual clock (2026-11-25 04:00 UTC, inside the night at COLIBRI).
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from orchestrator.bootstrap import init_site
from orchestrator.jobs import record_beat
from orchestrator.majordome.states import State, StateStore
from orchestrator.model import Schedule, Sequence
from orchestrator.planner.service import replan
from orchestrator.requests.builder import RequestBuilder
from orchestrator.requests.xml_io import submit_xml
from tests.conftest import make_runtime
from tests.orchestrator.request_helpers import EXAMPLES
from tests.web.conftest import serve
from web import create_app

REFRESH_MS = 15000  # the page polls every 5 s


@pytest.fixture
def site(tmp_path, clock):
    runtime = make_runtime(tmp_path, clock, f"sqlite:///{tmp_path / 'pyros.db'}")
    init_site(runtime, "admin-password-1")
    builder = RequestBuilder(runtime.config, clock)
    for path in EXAMPLES:
        submit_xml(builder, runtime.sessions, path.read_bytes(), path.name, "admin")
    yield runtime
    runtime.engine.dispose()


def _table(page, selector: str) -> list[list[str]]:
    rows = page.locator(f"{selector} tr").all()[1:]  # the first row is the header
    return [[cell.text_content() for cell in row.locator("td").all()] for row in rows]


def test_status_page_shows_safety_schedule_and_refreshes(site, page):
    with serve(create_app(site)) as url:
        page.goto(url)
        assert page.text_content("#verdict") == "UNSAFE"  # nothing stored: never safe
        assert "no weather synthesis stored yet" in page.text_content("#reasons")
        assert page.text_content("#schedule-summary") == "no schedule yet"
        with site.sessions() as session:
            submitted = session.scalar(select(func.count()).select_from(Sequence))
        assert page.text_content("#sequences") == f"Sequences: to_be_planned {submitted}"
        devices = _table(page, "#devices")
        assert ["mount", "alpaca"] == devices[0][:2] and devices[0][-1] == "never seen"
        assert page.text_content("#majordome").startswith("startup (AUTO)")  # pyros init

        # A job beats and the planner plans the night: the page shows both without a reload
        # (in this order, so the refresh that shows the schedule shows the beat too).
        record_beat(site, "planner", 10.0)
        replan(site, "test")
        page.wait_for_function(
            "document.getElementById('schedule-summary').textContent.includes('entries')",
            timeout=REFRESH_MS,
        )
        with site.sessions() as session:
            schedule = session.scalar(select(Schedule).order_by(Schedule.id.desc()))
            expected = [
                [
                    f"{e.start:%Y-%m-%d %H:%M}",  # a night spans two dates
                    f"{e.end:%Y-%m-%d %H:%M}",
                    e.sequence.target_name,
                    e.sequence.name,
                ]
                for e in schedule.entries
            ]
        assert expected, "the example requests give no entry tonight: the test proves nothing"
        shown = _table(page, "#schedule")
        assert [row[:4] for row in shown] == expected
        assert all(row[4] == "planned" for row in shown)
        assert "night 2026-11-24" in page.text_content("#schedule-summary")
        assert "planned" in page.text_content("#sequences")
        assert [row[0] for row in _table(page, "#jobs")] == ["planner"]

        # The majordome starts the first entry: its state, reason and progress appear.
        store = StateStore(site)
        store.move(State.NIGHT_WAITING, "startup: night")
        store.move(State.OBSERVING, f"sequence {schedule.entries[0].sequence_id} due")
        store.set(current_sequence_id=schedule.entries[0].sequence_id)
        page.wait_for_function(
            "document.getElementById('majordome-sequence').textContent.includes('frame 1 of')",
            timeout=REFRESH_MS,
        )
        assert page.text_content("#majordome").startswith("observing (AUTO) — sequence ")
        assert f"sequence {schedule.entries[0].sequence_id} " in page.text_content(
            "#majordome-sequence"
        )

    # The web server is gone: the page must not keep showing the last verdict as current.
    page.wait_for_function(
        "document.getElementById('verdict').textContent.startsWith('UNKNOWN')", timeout=REFRESH_MS
    )
    assert page.get_attribute("#safety", "class") == "unsafe"
