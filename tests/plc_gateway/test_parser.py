"""The STATUS parser on the seed's samples, its quirks, and arbitrary garbage."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from plc_gateway.parser import PlcAnswerError, parse_status
from tests.conftest import TEST_DATA

DRY = (TEST_DATA / "plc" / "status_dry.json").read_text()


def test_seed_sample_with_its_quirks():
    status = parse_status(DRY)
    assert status.number("WXT520", "RainRate") == 0.0
    assert status.number("VantagePro", "RainRate") is None  # valid: "no"
    assert status.devices["VANTAGEPRO"].values["WindDirCardinal"] == "SW"
    lamp = status.devices["LAMP_FLAT_CAGIRE"]  # listed twice under two spellings
    assert lamp.values["status"] == "on"
    assert any("listed twice" in w for w in status.warnings)


def test_mixed_key_spellings_unknown_and_missing_devices():
    doc = json.loads(DRY)
    wxt = doc[0]["device"][0]
    wxt["serial number"] = wxt.pop("serial_number")
    doc[0]["version firmware"] = doc[0].pop("version_firmware")
    doc[0]["device"] = [d for d in doc[0]["device"] if d["name"] != "MLX90614-1"]
    doc[0]["device"].append(
        {"name": "NEWSENSOR", "valid": "yes", "values": [{"name": "x", "value": 1}]}
    )
    del doc[0]["device"][1]["valid"]  # DRD11 without a validity flag
    status = parse_status(json.dumps(doc))
    assert status.number("WXT520", "OutsideTemp") == 12.12
    assert "MLX90614-1" not in status.devices
    assert status.number("NEWSENSOR", "x") == 1.0
    assert status.number("DRD11", "digital") is None  # unknown validity = invalid
    assert any("no 'valid' flag" in w for w in status.warnings)


@pytest.mark.parametrize(
    "text",
    ['[{"name": "STATUS", "device": [{"name": "WXT52', "", "[]", '{"name": "ERROR"}', "[1, 2]",
     '[{"name": "STATUS"}]', '[{"name": "STATUS", "device": "none"}]'],
)  # fmt: skip
def test_broken_answers_raise_a_reason(text):
    with pytest.raises(PlcAnswerError) as err:
        parse_status(text)
    assert str(err.value)


def test_non_finite_and_boolean_values():
    doc = json.loads(DRY)
    doc[0]["device"][0]["values"][0]["value"] = float("nan")
    status = parse_status(json.dumps(doc))
    assert status.number("WXT520", "OutsideTemp") is None


json_values = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


devices = st.fixed_dictionaries(
    {
        "name": st.text(max_size=8),
        "valid": st.sampled_from(["yes", "no", "YES", True, 1, None]),
        "values": st.lists(
            st.fixed_dictionaries({"name": st.text(max_size=6), "value": json_values}), max_size=4
        ),
    }
)
status_answers = st.lists(devices | json_values, max_size=5).map(
    lambda listed: [{"name": "STATUS", "device": listed}]
)


def _consistent(status) -> None:
    """What any successful parse promises: devices under their normalised name, numbers only
    finite and only from valid devices, warnings as text."""
    from plc_gateway.parser import device_key

    for key, reading in status.devices.items():
        assert key == device_key(reading.name)
        for name in reading.values:
            number = status.number(reading.name, name)
            assert number is None or (reading.valid and math.isfinite(number))
    assert all(isinstance(w, str) and w for w in status.warnings)


@given(json_values | status_answers)
@example([{"name": "STATUS", "device": [{"name": "T", "valid": "yes", "values": [
    {"name": "x", "value": float("inf")}]}]}])  # fmt: skip
def test_any_json_either_parses_or_raises_plc_answer_error(value):
    text = json.dumps(value)
    try:
        status = parse_status(text)
    except PlcAnswerError:
        return
    assert "status" in text.lower()  # no STATUS object: always an error
    _consistent(status)


@given(st.binary(max_size=200))
def test_any_bytes_either_parse_or_raise_plc_answer_error(data):
    try:
        status = parse_status(data)
    except PlcAnswerError:
        return
    json.loads(data)  # only JSON parses
    _consistent(status)
