"""The drill's transient: put at a notice's position with its law's magnitude, faded, removed;
`pyros alerts replay --inject` does it around a replay."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

import pytest

from orchestrator.alerts.drill import FadingLaw, inject_at_notice, parse_law
from orchestrator.clock import ManualClock
from orchestrator.config import default_config_text, parse_config
from orchestrator.errors import InputError
from orchestrator.runtime import Runtime
from simulators.gaia_catalog import ensure_catalog
from tests.helpers import pyros
from tests.orchestrator.alerts.conftest import VOEVENTS, json_notice
from tests.orchestrator.alerts.test_cli import folder  # noqa: F401 (a fixture)


def _transients(catalog) -> list[tuple[float, float, float]]:
    with sqlite3.connect(catalog) as db:
        columns = {row[1] for row in db.execute("PRAGMA table_info(gaia_sources)")}
        if "is_transient" not in columns:
            return []
        rows = db.execute(
            "SELECT ra, dec, phot_g_mean_mag FROM gaia_sources WHERE is_transient = 1"
        ).fetchall()
    db.close()
    return rows


def test_the_transient_sits_at_the_notice_and_fades_on_its_law(tmp_path):
    clock = ManualClock(datetime(2026, 11, 25, 4, 0, tzinfo=UTC))
    runtime = Runtime(parse_config(default_config_text(), tmp_path), clock)
    catalog = ensure_catalog(tmp_path / "gaia_sources.db", 43.0, n_stars=50)
    payload = json_notice(runtime, ident="D1", age_s=600.0)
    law = FadingLaw(m0=14.0, alpha=1.0, t0_s=600.0)
    transient = inject_at_notice(catalog, payload, runtime.clock.now(), law)
    [(ra, dec, mag)] = _transients(catalog)
    assert (ra, dec) == (transient.ra_deg, transient.dec_deg)
    assert dec == runtime.config.site.latitude_deg
    assert mag == pytest.approx(14.0)  # 600 s after the trigger: m0
    runtime.clock.advance(5400.0)  # t = 6000 s = 10 t0: 2.5 mag fainter for alpha = 1
    transient.update(runtime.clock.now())
    assert _transients(catalog)[0][2] == pytest.approx(16.5)
    transient.remove()
    assert _transients(catalog) == []


@pytest.mark.parametrize(
    "text, words",
    [("x", "must be MAG"), ("14,1,2,3", "must be MAG"), ("14,-1", "ALPHA must be"),
     ("14,1,0", "T0_S must be"), ("nan", "must be MAG")],
)  # fmt: skip
def test_a_bad_law_is_refused_naming_the_part(text, words):
    with pytest.raises(InputError) as caught:
        parse_law(text)
    assert caught.value.field == "--inject" and words in str(caught.value)


def test_replay_inject_puts_then_removes_the_transient(folder, tmp_path):  # noqa: F811
    catalog = ensure_catalog(tmp_path / "gaia_sources.db", 43.0, n_stars=50)
    notice = VOEVENTS / "ep__alert__alert_247.json"
    done = pyros("alerts", "replay", str(notice), "--inject", "14,1", "--fade-for", "0.5",
                 "--catalog", str(catalog), cwd=folder)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "ep__alert__alert_247.json: transient at RA " in done.stdout
    assert "1 transient(s) removed" in done.stdout
    assert _transients(catalog) == []
    missing = pyros("alerts", "replay", str(notice), "--inject", "14",
                    "--catalog", str(tmp_path / "none.db"), cwd=folder)  # fmt: skip
    assert missing.returncode == 2 and "--catalog: no simulator star catalogue" in missing.stderr
    bad = pyros("alerts", "replay", str(notice), "--inject", "bright", cwd=folder)
    assert bad.returncode == 2 and "--inject: must be MAG" in bad.stderr
