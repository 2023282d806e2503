"""The standing fuzz suite (issue 18): bounded here, unbounded in bench/fuzz_soak.py.

Alpaca server: no 5xx, every 200 a valid envelope, an accepted ClientTransactionID echoed
exactly. PLC parser: never raises but PlcAnswerError, never safe from garbage. Request XML and
mapping input: refused only with one-line InputErrors. FUZZ_EXAMPLES scales the bound.
Alert notices (VOEvent XML, GCN JSON): arbitrary bytes, damaged real notices and arbitrary
JSON fields are refused only with NoticeRejected; an accepted position is in range.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzz import targets

SCALE = float(os.environ.get("FUZZ_EXAMPLES_SCALE", "1"))
SLOW = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture]
FAST = settings(
    max_examples=int(300 * SCALE), deadline=None, database=None, suppress_health_check=SLOW
)


@pytest.fixture(scope="module")
def server():
    with targets.live_alpaca() as address:
        yield address


@FAST
@given(req=targets.alpaca_requests())
def test_alpaca_server_never_5xx_and_every_200_is_an_envelope(server, req):
    targets.check_alpaca(server, *req)


@FAST
@given(targets.plc_answers())
def test_plc_parser_never_raises_and_garbage_is_never_safe(data):
    targets.check_plc(data)


@FAST
@given(targets.xml_documents())
def test_request_xml_refusals_are_one_line_input_errors(data):
    targets.check_xml(data)


@FAST
@given(targets.request_mappings())
def test_request_mapping_input_is_refused_only_with_input_errors(data):
    targets.check_mapping(data)


# ---- alert notices: arbitrary bytes, mutated real notices, arbitrary JSON ------------------

_NOTICES = sorted((Path(__file__).resolve().parents[1] / "data" / "voevents").iterdir())
_NOW = datetime(2026, 11, 25, 4, tzinfo=UTC)


def _check_notice(payload: bytes) -> None:
    """Refused only with NoticeRejected naming a field; an accepted position is in range."""
    from orchestrator.alerts.notice import NoticeRejected, parse_notice

    try:
        notice = parse_notice(payload, _NOW, 1_000_000, 60.0)
    except NoticeRejected as exc:
        assert str(exc).strip() and "\n" not in str(exc).split(":")[0], exc
        return
    if notice.has_position:
        assert 0.0 <= notice.ra_deg <= 360.0 and -90.0 <= notice.dec_deg <= 90.0, notice
    if notice.error_radius_deg is not None:
        assert notice.error_radius_deg >= 0.0, notice


@FAST
@given(st.binary(max_size=2048))
def test_notice_parser_refuses_arbitrary_bytes_cleanly(payload):
    _check_notice(payload)


@FAST
@given(
    st.sampled_from(_NOTICES),
    st.integers(min_value=0, max_value=10_000),
    st.binary(min_size=0, max_size=8),
)
def test_notice_parser_refuses_damaged_real_notices_cleanly(path, at, junk):
    payload = path.read_bytes()
    at %= max(len(payload), 1)
    _check_notice(payload[:at] + junk + payload[at + len(junk) :])


_JSON = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=6)
    ),
    max_leaves=20,
)


@FAST
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "ra": _JSON, "dec": _JSON, "ra_dec_error": _JSON, "trigger_time": _JSON,
            "id": _JSON, "instrument": _JSON, "mission": _JSON, "alert_type": _JSON,
            "alert_tense": _JSON, "$schema": _JSON,
        },
    )
)  # fmt: skip
def test_notice_parser_refuses_arbitrary_gcn_json_cleanly(fields):
    import json

    _check_notice(json.dumps(fields).encode())
