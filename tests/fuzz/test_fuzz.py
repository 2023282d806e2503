"""The standing fuzz suite (issue 18): bounded here, unbounded in bench/fuzz_soak.py.

Alpaca server: no 5xx, every 200 a valid envelope, an accepted ClientTransactionID echoed
exactly. PLC parser: never raises but PlcAnswerError, never safe from garbage. Request XML and
mapping input: refused only with one-line InputErrors. FUZZ_EXAMPLES scales the bound.
Partial: the VOEvent and JSON notice parsers are not fuzzed yet (they are being written).
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings

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
