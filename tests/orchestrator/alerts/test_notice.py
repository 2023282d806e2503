"""Parsing and classification of every shipped notice, and refusal of bad input."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from orchestrator.alerts.notice import Kind, NoticeRejected, parse_notice
from tests.orchestrator.alerts.conftest import VOEVENTS

NOW = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)


def parse(payload: bytes, now: datetime = NOW, max_bytes: int = 1_000_000):
    return parse_notice(payload, now, max_bytes, 60.0)


EXPECTED_KINDS = {  # file name prefix -> kind
    "ep__alert": Kind.POSITION,
    "fermi__fermi_gbm_alert": Kind.NO_POSITION,  # placeholder 0, 0, 0
    "fermi__fermi_gbm_fin_pos": Kind.POSITION,
    "fermi__fermi_gbm_flt_pos": Kind.POSITION,
    "fermi__fermi_gbm_gnd_pos": Kind.POSITION,
    "fermi__fermi_lat": Kind.POSITION,
    "lvc__lvc_initial": Kind.TEST,
    "lvc__lvc_preliminary": Kind.TEST,
    "lvc__lvc_retraction": Kind.RETRACTION,
    "svom__eclairs": Kind.POSITION,
    "svom__grm": Kind.NO_POSITION,  # time only
    "svom__mxt": Kind.POSITION,
    "swift__swift_bat_grb_pos_test": Kind.TEST,
}


@pytest.mark.parametrize("path", sorted(VOEVENTS.iterdir()), ids=lambda p: p.name)
def test_every_shipped_notice_is_classified(path):
    notice = parse(path.read_bytes())
    expected = next(k for prefix, k in EXPECTED_KINDS.items() if path.name.startswith(prefix))
    assert notice.kind is expected
    assert notice.trigger_time is not None and notice.trigger_time.tzinfo is not None
    assert notice.trigger_id and notice.mission
    if expected is Kind.POSITION:
        assert 0 <= notice.ra_deg < 360 and -90 <= notice.dec_deg <= 90
        assert notice.error_radius_deg > 0
    if expected is Kind.NO_POSITION:
        assert notice.ra_deg is None and notice.note


def test_voevent_fields_of_an_svom_notice():
    notice = parse((VOEVENTS / "svom__eclairs__eclairs_297.xml").read_bytes())
    assert notice.key == "ivo://org.svom/fsc#sb26021102_not-slewing"
    assert (notice.mission, notice.instrument, notice.notice_type) == ("SVOM", "ECLAIRs", "205")
    assert notice.trigger_id == "SVOM:sb26021102"
    assert notice.author == "ivo://org.svom/fsc"
    assert notice.ra_deg == pytest.approx(86.9994)
    assert notice.supersedes == [
        "ivo://org.svom/fsc#sb26021102_eclairs-preliminary",
        "ivo://org.svom/fsc#sb26021102_eclairs-wakeup",
    ]


def test_json_notice_without_zone_is_utc_and_ellipse_gives_its_major_axis():
    body = {
        "mission": "SVOM",
        "instrument": "ECLAIRs",
        "id": "sb1",
        "ra": 10.0,
        "dec": 5.0,
        "ra_dec_error": [0.1, 0.3, 45.0],
        "trigger_time": "2026-11-25T03:00:00.5",
        "alert_type": "initial",
        "alert_tense": "current",
    }
    notice = parse(json.dumps(body).encode())
    assert notice.trigger_time == datetime(2026, 11, 25, 3, 0, 0, 500000, tzinfo=UTC)
    assert notice.error_radius_deg == 0.3 and notice.kind is Kind.POSITION
    retraction = parse(json.dumps({**body, "alert_type": "retraction"}).encode())
    assert retraction.kind is Kind.RETRACTION
    test = parse(json.dumps({**body, "alert_tense": "injection"}).encode())
    assert test.kind is Kind.TEST


SVOM = (VOEVENTS / "svom__eclairs__eclairs_296.xml").read_bytes()
BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;">]>
<voe:VOEvent xmlns:voe="http://www.ivoa.net/xml/VOEvent/v2.0" ivorn="ivo://x/y#z"
 role="observation" version="2.0"><Who>&lol2;</Who></voe:VOEvent>"""
EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<voe:VOEvent xmlns:voe="http://www.ivoa.net/xml/VOEvent/v2.0" ivorn="ivo://x/y#z"
 role="observation" version="2.0"><Who>&xxe;</Who></voe:VOEvent>"""


@pytest.mark.parametrize(
    "payload, field, words",
    [
        (b"<voe:VOEvent", "xml", "malformed"),
        (BOMB, "xml", "DOCTYPE"),
        (EXTERNAL, "xml", "DOCTYPE"),
        (SVOM + b" " * 10_000_000, "payload", "bytes"),
        (SVOM.replace(b"<Who>", b"<Whoo>").replace(b"</Who>", b"</Whoo>"), "VOEvent", "Whoo"),
        (b'{"foo": 1}', "$schema", "unknown"),
        (b'{"ra": 400.0, "dec": 0, "trigger_time": "2026-11-25T00:00:00Z"}', "ra", "400"),
        (SVOM.replace(b"<C2>-0.4379</C2>", b"<C2>-95.0</C2>"), "Position2D/C2", "-95"),
        (
            b'{"ra": 1.0, "dec": 0, "trigger_time": "2026-12-25T00:00:00Z"}',
            "trigger_time",
            "future",
        ),
        (b"hello", "payload", "neither"),
    ],
    ids=[
        "malformed",
        "entity-bomb",
        "external-entity",
        "10MB",
        "schema",
        "unknown-json",
        "ra-range",
        "dec-range",
        "future",
        "not-a-notice",
    ],
)
def test_bad_input_is_rejected_naming_the_field(payload, field, words):
    with pytest.raises(NoticeRejected) as info:
        parse(payload)
    assert info.value.field == field
    assert words in info.value.reason


def test_the_same_json_notice_reformatted_has_the_same_key():
    raw = (VOEVENTS / "ep__alert__alert_247.json").read_bytes()
    reformatted = json.dumps(json.loads(raw), indent=2, sort_keys=True).encode()
    assert parse(raw).key == parse(reformatted).key
    other = json.loads(raw) | {"ra_dec_error": 0.01}
    assert parse(json.dumps(other).encode()).key != parse(raw).key
