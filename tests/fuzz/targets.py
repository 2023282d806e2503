"""Fuzz targets shared by the bounded suite (tests/fuzz) and the soak (bench/fuzz_soak.py).

Each target is a Hypothesis strategy and a check that asserts what must hold for any input;
`COUNTS` tallies the inputs checked per target (the soak prints it).
"""

from __future__ import annotations

import http.client
import json
import tempfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote, urlencode

from hypothesis import strategies as st

from orchestrator.clock import ManualClock
from orchestrator.config import SafetyConfig, default_config_text, parse_config
from orchestrator.errors import InputError
from orchestrator.requests.builder import RequestBuilder
from orchestrator.requests.spec import spec_from_mapping, spec_to_mapping
from orchestrator.requests.xml_io import parse_request
from plc_gateway.parser import PlcAnswerError, parse_status
from plc_gateway.server import Gateway
from plc_gateway.synthesis import Synthesizer
from simulators.plc_simulator import PlcSimulator, default_status

COUNTS: Counter[str] = Counter()
START = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)
ENVELOPE_KEYS = {"ClientTransactionID", "ServerTransactionID", "ErrorNumber", "ErrorMessage"}
UINT32_MAX = 2**32 - 1

# ---- the Alpaca server ------------------------------------------------------------------
MEMBERS = (
    "connected connect disconnect connecting description driverinfo driverversion "
    "interfaceversion name supportedactions action commandblind commandbool commandstring "
    "devicestate issafe averageperiod refresh sensordescription timesincelastupdate "
    "cloudcover dewpoint humidity pressure rainrate skytemperature temperature winddirection "
    "windspeed windgust starfwhm"
).split()
PARAM_NAMES = (
    "ClientID ClientTransactionID Connected connected CLIENTTRANSACTIONID Action Parameters "
    "Command Raw AveragePeriod SensorName sensorname"
).split()


@contextmanager
def live_alpaca() -> Iterator[tuple[str, int]]:
    """A real gateway (waitress) polling a real PLC simulator; yields (host, port)."""
    clock = ManualClock(START)
    config = parse_config(default_config_text(), Path(tempfile.gettempdir()))
    with PlcSimulator(clock=clock) as plc:
        gateway = Gateway(config, clock, None, ("127.0.0.1", plc.port), port=0, discovery_port=0)
        gateway.start()
        try:
            yield "127.0.0.1", gateway.port
        finally:
            gateway.stop()


_unicode = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
_numbers = st.sampled_from(["0", "1", "7", "4294967295", "4294967296", "-1", "", " 3", "+1"])
_digits = st.sampled_from(["\u00b2", "\u0660", "\U0001d7d5", "\uff17", "\u0967", "\u00b9"])
_values = _numbers | _digits | _unicode | st.integers(-(2**70), 2**70).map(str)


@st.composite
def alpaca_requests(draw) -> tuple[str, str, dict[str, str], bytes | None]:
    """(method, path, params, raw body or None): mostly near-valid, sometimes wild."""
    method = draw(st.sampled_from(["GET", "PUT", "GET", "PUT", "POST", "DELETE", "HEAD"]))
    kind = draw(st.sampled_from(["device", "device", "management", "wild"]))
    if kind == "device":
        device = draw(st.sampled_from(["safetymonitor", "observingconditions"]) | _unicode)
        number = draw(_values)
        member = draw(st.sampled_from(MEMBERS) | _unicode)
        path = f"/api/v1/{quote(device, safe='')}/{quote(number, safe='')}/{quote(member, safe='')}"
    elif kind == "management":
        path = draw(st.sampled_from([
            "/management/apiversions", "/management/v1/description",
            "/management/v1/configureddevices", "/setup", "/setup/v1/safetymonitor/0/setup",
        ]))  # fmt: skip
    else:
        parts = draw(st.lists(_unicode, max_size=5))
        path = "/" + "/".join(quote(p, safe="") for p in parts)
    names = st.sampled_from(PARAM_NAMES) | _unicode.filter(bool)
    params = draw(st.dictionaries(names, _values, max_size=4))
    body = draw(st.none() | st.binary(max_size=200))
    return method, path, params, body


def check_alpaca(server: tuple[str, int], method: str, path: str, params, body) -> None:
    """One raw HTTP exchange (http.client: the path goes out as generated)."""
    COUNTS["alpaca"] += 1
    form = urlencode(params).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if method in ("PUT", "POST"):
        target, payload = path, (body if body is not None and not params else form)
    else:
        target, payload = path + ("?" + form.decode() if params else ""), None
    conn = http.client.HTTPConnection(*server, timeout=10)
    try:
        conn.request(method, target, body=payload, headers=headers)
        resp = conn.getresponse()
        status, text = resp.status, resp.read().decode("utf-8", "replace")
    finally:
        conn.close()
    assert status < 500, (method, target, status, text[:200])
    assert "Traceback" not in text
    api = path.startswith(("/api/v1/", "/management/")) and method != "HEAD"
    if status == 200 and api:
        envelope = json.loads(text)
        assert ENVELOPE_KEYS <= envelope.keys(), envelope
        assert isinstance(envelope["ClientTransactionID"], int)
        assert 0 <= envelope["ClientTransactionID"] <= UINT32_MAX
        assert isinstance(envelope["ErrorNumber"], int) and isinstance(
            envelope["ErrorMessage"], str
        )
        sent = {k.lower(): v for k, v in params.items()}.get("clienttransactionid", "")
        if sent.strip():  # a number that was accepted is echoed exactly, never re-read
            assert sent.strip().isascii() and int(sent) == envelope["ClientTransactionID"]


# ---- the PLC parser and the synthesis -----------------------------------------------------
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner,
                                                                max_size=5),
    max_leaves=30,
)  # fmt: skip
_dry = json.dumps(default_status()).encode()


@st.composite
def plc_answers(draw) -> bytes:
    """Arbitrary bytes, arbitrary JSON, and the real answer damaged at one place."""
    kind = draw(st.sampled_from(["bytes", "json", "damaged", "status-shaped", "pathological"]))
    if kind == "pathological":  # what the outside probe used: depth, huge and overflowing numbers
        size = draw(st.integers(1, 300_000))
        return draw(st.sampled_from([
            b"[" * size, b"{\"a\":" * min(size, 100_000), b"9" * min(size, 20_000),
            _dry.replace(b"769.2", b"1" + b"0" * min(size, 6000), 1),
            _dry.replace(b"769.2", b"-1" + b"0" * min(size, 400), 1),
            _dry.replace(b"769.2", b"1e" + str(size).encode(), 1),
        ]))  # fmt: skip
    if kind == "bytes":
        return draw(st.binary(max_size=400))
    if kind == "json":
        return json.dumps(draw(_json)).encode()
    if kind == "damaged":
        at = draw(st.integers(0, len(_dry) - 1))
        junk = draw(st.binary(min_size=0, max_size=8))
        return _dry[:at] + junk + _dry[at + draw(st.integers(0, 20)) :]
    devices = draw(st.lists(st.dictionaries(
        st.sampled_from(["name", "type", "valid", "values", "serial number"]), _json,
        max_size=5), max_size=4))  # fmt: skip
    return json.dumps([{"name": "STATUS", "device": devices}]).encode()


SAFETY_ELEMENTS = ("rain_rate", "wind_speed", "humidity", "cloud", "dew_point_margin")


def check_plc(data: bytes) -> None:
    """Never raises but PlcAnswerError; never safe unless every safety value was read."""
    COUNTS["plc"] += 1
    try:
        status = parse_status(data)
    except PlcAnswerError as exc:
        assert "\n" not in str(exc)
        status = None
    synth = Synthesizer(SafetyConfig(reopen_delay_s=0))
    synthesis = synth.update(status, START)
    synthesis = synth.update(status, START + timedelta(seconds=1))
    if synthesis.is_safe:
        assert status is not None
        for name in SAFETY_ELEMENTS:
            value = synthesis.elements[name].value
            assert isinstance(value, float) and value == value, (name, value)
    if status is None:
        assert not synthesis.is_safe


# ---- the request XML parser and the builder's mapping input -------------------------------
_TAGS = ["request", "sequence", "target", "window", "album", "plan", "constraints", "x"]
_ATTRS = ["name", "program", "ra_deg", "dec_deg", "start", "end", "duration_s", "channel",
          "filter", "exposure_s", "count", "binning", "priority", "urgent", "zz"]  # fmt: skip


@st.composite
def xml_documents(draw) -> bytes:
    def element(depth: int) -> str:
        tag = draw(st.sampled_from(_TAGS))
        attrs = draw(st.dictionaries(st.sampled_from(_ATTRS), _values, max_size=4))
        text = " ".join(f'{k}="{quote(v, safe=" :.-+")}"' for k, v in attrs.items())
        kids = "".join(
            element(depth + 1) for _ in range(draw(st.integers(0, 3 if depth < 3 else 0)))
        )
        return f"<{tag} {text}>{kids}</{tag}>"

    return element(0).encode()


_example = (
    Path(__file__).resolve().parents[2] / "simulators" / "resources" / "routine_request_10.xml"
).read_bytes()


def check_xml(data: bytes) -> None:
    COUNTS["request_xml"] += 1
    try:
        parse_request(data, "fuzz.xml")
    except InputError as exc:
        text = str(exc)
        assert text.startswith("fuzz.xml") and "\n" not in text and len(text) < 600, text[:700]


_BUILDER = None


def builder() -> RequestBuilder:
    global _BUILDER
    if _BUILDER is None:
        config = parse_config(default_config_text(), Path(tempfile.gettempdir()))
        _BUILDER = RequestBuilder(config, ManualClock(START))
    return _BUILDER


@st.composite
def request_mappings(draw) -> object:
    """The example's mapping with a few fields replaced by anything JSON can hold."""
    data = spec_to_mapping(parse_request(_example).spec)
    for _ in range(draw(st.integers(0, 4))):
        target = data
        path = draw(st.lists(st.sampled_from(
            ["sequences", 0, 1, "albums", "plans", "name", "ra_deg", "dec_deg", "window_start",
             "duration_s", "exposure_s", "count", "program", "filter_name", "binning"]),
            min_size=1, max_size=6))  # fmt: skip
        for key in path[:-1]:
            try:
                target = target[key]
            except (KeyError, IndexError, TypeError):
                break
        if isinstance(target, dict) and isinstance(path[-1], str):
            target[path[-1]] = draw(_json)
    return data if draw(st.integers(0, 9)) else draw(_json)


def check_mapping(data: object) -> None:
    COUNTS["request_mapping"] += 1
    try:
        builder().validate(spec_from_mapping(data))
    except InputError as exc:
        assert exc.field and "\n" not in str(exc)
