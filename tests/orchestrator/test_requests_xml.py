"""XML request files without a database: schema errors with line and field, export round-trip,
and the builder's checks that need only the config and the clock."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestrator.config import default_config_text, parse_config
from orchestrator.errors import ConfigError, InputError
from orchestrator.requests.builder import RequestBuilder
from orchestrator.requests.spec import (
    AlbumSpec,
    PlanSpec,
    RequestSpec,
    SequenceSpec,
    spec_from_mapping,
    spec_to_mapping,
)
from orchestrator.requests.xml_io import parse_request, request_to_xml
from tests.conftest import make_runtime
from tests.orchestrator.request_helpers import EXAMPLES, example, variant


@pytest.fixture
def offline_builder(tmp_path, clock) -> RequestBuilder:
    runtime = make_runtime(tmp_path, clock)
    return RequestBuilder(runtime.config, runtime.clock)


def test_the_ten_examples_exist_as_named_by_the_scenario():
    assert [p.name for p in EXAMPLES] == [f"routine_request_{n:02d}.xml" for n in range(1, 11)]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_parses_and_passes_the_builder_checks(path, offline_builder):
    parsed = parse_request(path.read_bytes(), path.name)
    offline_builder.validate(parsed.spec)
    assert parsed.spec.program == "ROUTINE"
    for sequence in parsed.spec.sequences:
        assert sequence.duration_s >= offline_builder.minimum_duration_s(sequence)
        # observable from San Pedro Martir (31 N): culminates above the sequence's altitude limit
        assert 90 - abs(31.04 - sequence.dec_deg) > sequence.min_altitude_deg


def test_examples_cover_the_seasons():
    """Targets whose best month (opposition) spreads over the year, not one season."""
    ras = [s.ra_deg for p in EXAMPLES for s in parse_request(p.read_bytes()).spec.sequences]
    quarters = {int(ra // 90) for ra in ras}
    assert quarters == {0, 1, 2, 3}


@pytest.mark.parametrize(
    ("data", "where", "words"),
    [
        (b"this is not xml <", "line 1", "not well-formed XML"),
        (variant(1, "<target ", "<targt "), "line 5", "'targt': This element is not expected"),
        (variant(1, 'ra_deg="83.8221"', 'ra_deg="abc"'), "line 5", "attribute 'ra_deg'"),
        (variant(1, 'count="3"', 'count="0"'), "line 9", "attribute 'count'"),
        (variant(1, 'channel="NIR"', 'channel="UV"'), "line 13", "attribute 'channel'"),
        (variant(1, 'channel="NIR"', 'channel="VIS"'), "line 13", "Duplicate key-sequence"),
        (variant(1, 'end="2027-03-31T00:00:00Z"', 'end="2027-03-31T00:00:00"'), "line 6", "end"),
        (variant(1, ' duration_s="600"', ""), "line 4", "'duration_s' is required"),
        (variant(1, "</request>", "<sequence/></request>"), "line 18", "sequence"),
    ],
    ids=[
        "not-xml",
        "unknown-element",
        "ra-not-a-number",
        "count-zero",
        "unknown-channel",
        "two-vis-albums",
        "time-without-zone",
        "missing-duration",
        "empty-sequence",
    ],
)
def test_schema_errors_name_the_line_and_the_field(data, where, words):
    with pytest.raises(InputError) as caught:
        parse_request(data, "bad.xml")
    message = str(caught.value)
    assert message.startswith(f"bad.xml {where}: "), message
    assert words in message, message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("old", "new", "field", "reason"),
    [
        ('dec_deg="-5.3911"', 'dec_deg="100"', "sequences[0].dec_deg", "(got 100)"),
        ('ra_deg="83.8221"', 'ra_deg="360"', "sequences[0].ra_deg", "< 360"),
        ('ra_deg="83.8221"', 'ra_deg="NaN"', "sequences[0].ra_deg", "(got nan)"),
        (
            'exposure_s="30"',
            'exposure_s="-30"',
            "sequences[0].albums[0].plans[0].exposure_s",
            "must be > 0",
        ),
        (
            'filter="g"',
            'filter="Halpha"',
            "sequences[0].albums[0].plans[0].filter_name",
            "unknown VIS filter 'Halpha' (available: u, g, r, i, z)",
        ),
        (
            'filter="J"',
            'filter="K"',
            "sequences[0].albums[1].plans[0].filter_name",
            "unknown NIR filter 'K' (available: J, H)",
        ),
        (
            'start="2026-11-01T00:00:00Z" end="2027-03-31T00:00:00Z"',
            'start="2025-11-01T00:00:00Z" end="2026-03-31T00:00:00Z"',
            "sequences[0].window_end",
            "2026-03-31T00:00:00Z is in the past (now 2026-11-25T04:00:00Z)",
        ),
        (
            'start="2026-11-01T00:00:00Z" end="2027-03-31T00:00:00Z"',
            'start="2027-03-31T00:00:00Z" end="2026-12-01T00:00:00Z"',
            "sequences[0].window_end",
            "must be after window_start",
        ),
        (
            'duration_s="600"',
            'duration_s="300"',
            "sequences[0].duration_s",
            "300 s is shorter than the exposures and overheads: 384 s",
        ),
        ('priority="5"', 'priority="1000"', "sequences[0].priority", "<= 100"),
        (
            'dec_deg="-5.3911"',
            'dec_deg="-35"',
            "sequences[0].dec_deg",
            "never rises above 24.0 deg at this site (latitude 31.0442); it must reach 35 deg",
        ),
        (
            'min_altitude_deg="35"',
            'min_altitude_deg="35" max_airmass="0.5"',
            "sequences[0].max_airmass",
            ">= 1",
        ),
    ],
    ids=[
        "dec-100",
        "ra-360",
        "ra-nan",
        "negative-exposure",
        "unknown-vis-filter",
        "unknown-nir-filter",
        "window-in-the-past",
        "window-reversed",
        "duration-too-short",
        "priority-too-high",
        "never-rises",
        "airmass-below-1",
    ],
)
def test_builder_checks_name_the_field_and_the_reason(offline_builder, old, new, field, reason):
    parsed = parse_request(variant(1, old, new), "bad.xml")
    with pytest.raises(InputError) as caught:
        offline_builder.validate(parsed.spec)
    assert caught.value.field == field
    assert reason in caught.value.reason, caught.value.reason
    located = str(parsed.locate(caught.value))
    assert re.match(rf"bad\.xml line \d+: {re.escape(field)}: ", located), located


def test_builder_errors_point_at_the_element_line():
    parsed = parse_request(variant(1, 'filter="i"', 'filter="Y"'), "bad.xml")
    error = InputError("sequences[0].albums[0].plans[2].filter_name", "unknown")
    assert str(parsed.locate(error)) == (
        "bad.xml line 11: sequences[0].albums[0].plans[2].filter_name: unknown"
    )
    assert str(parsed.locate(InputError("quota", "none left"))) == "bad.xml: quota: none left"
    assert str(parsed.locate(InputError("program", "unknown"))).startswith("bad.xml line 3: ")


def test_a_site_without_a_nir_filter_wheel_refuses_nir_filters(tmp_path, clock):
    runtime = make_runtime(tmp_path, clock)
    devices = runtime.config.devices.model_copy(update={"filterwheel_nir": None})
    config = runtime.config.model_copy(update={"devices": devices})
    builder = RequestBuilder(config, clock)
    with pytest.raises(InputError, match="no filter wheel is configured"):
        builder.validate(parse_request(example(1)).spec)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_export_then_parse_gives_the_same_request(path):
    spec = parse_request(path.read_bytes()).spec
    exported = request_to_xml(spec)
    again = parse_request(exported, "exported.xml").spec
    assert again == spec
    assert request_to_xml(again) == exported


def test_json_mapping_round_trip_and_field_errors():
    spec = parse_request(example(10)).spec
    assert spec_from_mapping(spec_to_mapping(spec)) == spec
    data = spec_to_mapping(spec)
    data["sequences"][1]["albums"][0]["plans"][0]["exposure_s"] = "long"
    with pytest.raises(InputError) as caught:
        spec_from_mapping(data)
    assert caught.value.field == "sequences[1].albums[0].plans[0].exposure_s"
    data = spec_to_mapping(spec)
    data["sequences"][0]["colour"] = "red"
    with pytest.raises(InputError, match=r"^sequences\[0\]\.colour: unknown field$"):
        spec_from_mapping(data)
    del data["sequences"][0]["colour"], data["sequences"][0]["ra_deg"]
    with pytest.raises(InputError, match=r"^sequences\[0\]\.ra_deg: required field is missing$"):
        spec_from_mapping(data)
    with pytest.raises(InputError, match="^request: must be a JSON object$"):
        spec_from_mapping([1, 2])


# -- properties ----------------------------------------------------------------------------

_names = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=40
)
_times = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
)
_plans = st.builds(
    PlanSpec,
    filter_name=st.sampled_from(["u", "g", "r", "i", "z"]),
    exposure_s=st.floats(0.001, 3600, allow_nan=False),
    count=st.integers(1, 50),
    binning=st.integers(1, 4),
)


@st.composite
def _requests(draw) -> RequestSpec:
    sequences = []
    for _ in range(draw(st.integers(1, 3))):
        start = draw(_times)
        sequences.append(
            SequenceSpec(
                name=draw(_names),
                target_name=draw(_names),
                ra_deg=draw(st.floats(0, 360, exclude_max=True)),
                dec_deg=draw(st.floats(-90, 90)),
                window_start=start,
                window_end=start + timedelta(seconds=draw(st.integers(1, 10**8))),
                duration_s=draw(st.floats(1, 1e5)),
                albums=[AlbumSpec("VIS", draw(st.lists(_plans, min_size=1, max_size=4)))],
                priority=draw(st.floats(0, 100)),
                max_airmass=draw(st.none() | st.floats(1, 5)),
                twilight=draw(st.none() | st.sampled_from(["civil", "astronomical"])),
                is_urgent=draw(st.booleans()),
            )
        )
    return RequestSpec(
        name=draw(_names), program=draw(st.none() | _names), sequences=sequences, is_alert=False
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_requests())
def test_any_request_survives_export_and_parse(spec):
    assert parse_request(request_to_xml(spec)).spec == spec


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_garbage_is_refused_with_an_input_error_only(data):
    with pytest.raises(InputError):
        parse_request(data)


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 1500), st.sampled_from(["<", ">", '"', "x", "-", "9", "", "\u00e9"]))
def test_a_damaged_example_parses_or_is_refused_cleanly(position, text):
    data = example(5).decode()
    damaged = (data[:position] + text + data[position + 1 :]).encode()
    try:
        parsed = parse_request(damaged)
    except InputError as exc:
        assert str(exc).startswith("request line ")
    else:  # the damage left a valid request: what was read exports and reads back the same
        assert parse_request(request_to_xml(parsed.spec)).spec == parsed.spec


def test_filter_names_in_the_config_are_unique(tmp_path):
    text = default_config_text().replace('filters = ["J", "H"]', 'filters = ["J", "J"]', 1)
    with pytest.raises(ConfigError) as caught:
        parse_config(text, tmp_path)
    assert caught.value.key == "devices.filterwheel_nir.filters"
    assert caught.value.reason.startswith("filter names must be unique")


def test_external_entities_are_never_read(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("do-not-leak")
    doctype = f'<!DOCTYPE request [<!ENTITY x SYSTEM "file://{secret}">]>\n'
    data = variant(1, 'name="Orion Nebula colour image"', 'name="&x;"').decode()
    data = data.replace("?>\n", "?>\n" + doctype, 1).encode()
    with pytest.raises(InputError) as caught:
        parse_request(data, "xxe.xml")
    assert "external entity" in str(caught.value) and "do-not-leak" not in str(caught.value)
