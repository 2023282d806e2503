"""What `pyros status` and the status page show of the majordome: state, mode, reason, the
current sequence with its plan and frame k of n, the last images; and the stored automation
jobs (which survive the scheduler, and queue a command when they fire)."""

from __future__ import annotations

from datetime import timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import select

from orchestrator.bootstrap import init_site
from orchestrator.majordome import automation
from orchestrator.majordome.states import State, StateStore
from orchestrator.model import Album, Command, Image, Plan, Request, Sequence, User
from orchestrator.runtime import Runtime
from orchestrator.status import format_status, system_status


def _sequence_with_one_frame(runtime) -> int:
    now = runtime.clock.now()
    with runtime.sessions.begin() as session:
        user = session.scalar(select(User))
        sequence = Sequence(
            name="M42 VIS",
            target_name="M42",
            ra_deg=83.8,
            dec_deg=-5.4,
            window_start=now,
            window_end=now + timedelta(days=1),
            duration_s=600.0,
        )
        sequence.albums.append(
            Album(
                channel="VIS",
                plans=[
                    Plan(filter_name="g", exposure_s=30.0, count=2),
                    Plan(filter_name="r", exposure_s=30.0, count=3),
                ],
            )
        )
        session.add(Request(name="r", user=user, submitted=now, source="api", sequences=[sequence]))
        session.flush()
        for i in range(2):
            session.add(
                Image(
                    path=f"/tmp/frame{i}.fits",
                    image_type="light",
                    channel="VIS",
                    date_obs=now,
                    exposure_s=30.0,
                    filter_name="g",
                    object_name="M42",
                    sequence_id=sequence.id,
                )
            )
        return sequence.id


def test_status_shows_state_reason_sequence_progress_and_images(runtime):
    init_site(runtime, "admin-password-1")
    sequence_id = _sequence_with_one_frame(runtime)
    store = StateStore(runtime)
    store.move(State.NIGHT_WAITING, "startup: night")
    store.set(current_sequence_id=sequence_id)
    status = system_status(runtime)
    majordome = status["majordome"]
    assert (majordome["state"], majordome["mode"], majordome["reason"]) == (
        "night_waiting",
        "AUTO",
        "startup: night",
    )
    assert majordome["sequence"]["frame"] == 3 and majordome["sequence"]["frames"] == 5
    assert majordome["sequence"]["plan"] == "r 30 s x3"  # the two g frames are done
    text = format_status(status)
    assert "Majordome night_waiting (AUTO) — startup: night" in text
    assert f"sequence {sequence_id} M42 VIS (M42): plan r 30 s x3, frame 3 of 5" in text
    assert "Last images" in text and "/tmp/frame1.fits" in text


def test_automation_jobs_are_stored_listed_and_queue_a_command(runtime, tmp_path):
    from orchestrator.config import parse_config
    from tests.device_peers import config_text

    text = config_text(
        "", '[[automation]]\ncron = "30 7 * * *"\naction = "darks"\nname = "morning darks"\n'
    )
    config = parse_config(text, tmp_path).model_copy(update={"database": runtime.config.database})
    rt = Runtime(config, runtime.clock)
    scheduler = BackgroundScheduler(
        timezone="UTC", jobstores={automation.STORE: automation.job_store(rt)}
    )
    scheduler.start(paused=True)
    try:
        assert automation.install(scheduler, rt) == ["automation:morning darks"]
    finally:
        scheduler.shutdown()
    jobs = automation.stored_jobs(rt)  # read back from the database, no scheduler running
    assert [j["id"] for j in jobs] == ["automation:morning darks"]
    next_run = jobs[0]["next_run"]
    assert (next_run.hour, next_run.minute, str(next_run.tzinfo)) == (7, 30, "America/Tijuana")
    assert "morning darks (30 7 * * *: darks)" in format_status(system_status(rt))
    automation.queue_action("darks", "morning darks")  # what the job runs when it fires
    with rt.sessions() as session:
        command = session.scalar(select(Command))
    assert (command.kind, command.issued_by, command.status) == (
        "darks",
        "automation:morning darks",
        "queued",
    )


def test_night_jobs_are_date_jobs_at_tonights_twilights(runtime):
    from datetime import UTC, datetime

    from orchestrator.majordome.night import current_night
    from orchestrator.majordome.service import REPORT_AFTER_SUNRISE, MajordomeService

    service = MajordomeService(runtime)
    scheduler = BackgroundScheduler(timezone="UTC")
    scheduler.start(paused=True)
    try:
        service._scheduler = scheduler
        planned = service.schedule_night_jobs()
        night = current_night(runtime.config, runtime.clock.now())
        # 04:00 UTC is after tonight's dusk: only the night's end (and its report) to come
        assert planned == {
            "night_end": night.dawn,
            "night_report": night.sunrise + REPORT_AFTER_SUNRISE,
        }
        job = scheduler.get_job("night_end")
        expected = datetime.now(UTC) + (night.dawn - runtime.clock.now())
        assert abs((job.next_run_time - expected).total_seconds()) < 5
    finally:
        scheduler.shutdown()


def test_a_majordome_stuck_past_its_device_deadline_exits_for_the_supervisor():
    import subprocess
    import sys

    code = (
        "import time, types\n"
        "from orchestrator.majordome.service import MajordomeService\n"
        "s = MajordomeService.__new__(MajordomeService)\n"
        "s.majordome = types.SimpleNamespace(deadline=('open dome', time.monotonic() + 60))\n"
        "s.check_deadline()\n"  # within its deadline: nothing happens
        "s.majordome.deadline = ('open dome', time.monotonic() - 1)\n"
        "s.check_deadline()\n"
        "print('not reached')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 3 and "not reached" not in done.stdout
    assert "majordome stuck in 'open dome' past its deadline" in done.stderr


def test_the_night_report_lists_transitions_and_images(runtime):
    from orchestrator.report.text import write_report

    init_site(runtime, "admin-password-1")
    _sequence_with_one_frame(runtime)
    store = StateStore(runtime)
    store.move(State.NIGHT_WAITING, "startup: night")
    store.move(State.CLOSED_WEATHER, "weather: heavy rain")
    path = write_report(runtime)
    text = path.read_text()
    assert path.name == "night-report-2026-11-24.txt"
    assert "startup -> night_waiting: startup: night" in text
    assert "night_waiting -> closed_weather: weather: heavy rain" in text
    assert "Images: light 2" in text
