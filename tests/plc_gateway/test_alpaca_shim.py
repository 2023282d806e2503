"""ConformU's SafetyMonitor, ObservingConditions and Alpaca-protocol checks, reproduced.

ConformU cannot be installed here, so its checks are redone with alpyca (a real client) and
raw HTTP against the gateway served by waitress, fed by the PLC simulator over TCP.
"""

from __future__ import annotations

import pytest
import requests
from alpaca.exceptions import (
    ActionNotImplementedException,
    InvalidValueException,
    NotConnectedException,
    NotImplementedException,
)
from alpaca.observingconditions import ObservingConditions
from alpaca.safetymonitor import SafetyMonitor
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.helpers import wait_for

IMPLEMENTED = {
    "DewPoint": (-60, 50),
    "Humidity": (0, 100),
    "Pressure": (500, 1100),
    "RainRate": (0, 1000),
    "SkyTemperature": (-80, 50),
    "Temperature": (-60, 60),
    "WindDirection": (0, 360),
    "WindSpeed": (0, 100),
}
NOT_IMPLEMENTED = ("CloudCover", "SkyBrightness", "SkyQuality", "StarFWHM", "WindGust")


@pytest.fixture
def gw(plc_sim, make_gateway):
    gateway = make_gateway(plc_sim.port)
    wait_for(lambda: gateway.state.current().value("temperature") is not None, 10, what="data")
    return gateway


def api(gw, method: str, path: str, **params) -> requests.Response:
    url = f"{gw.url}/api/v1/{path}"
    if method == "GET":
        return requests.get(url, params=params, timeout=5)
    return requests.put(url, data=params, timeout=5)


# ---- protocol ----------------------------------------------------------------------------
def test_envelope_fields_and_transaction_ids(gw):
    first = api(gw, "GET", "safetymonitor/0/name", ClientID=7, ClientTransactionID=123).json()
    assert set(first) == {
        "Value", "ClientTransactionID", "ServerTransactionID", "ErrorNumber", "ErrorMessage"
    }  # fmt: skip
    assert first["ClientTransactionID"] == 123 and first["ErrorNumber"] == 0
    second = api(gw, "GET", "safetymonitor/0/name", ClientTransactionID=124).json()
    assert second["ServerTransactionID"] > first["ServerTransactionID"] >= 1
    # PUT answers carry no Value.
    put = api(gw, "PUT", "safetymonitor/0/connected", Connected="true", ClientTransactionID=9)
    assert "Value" not in put.json() and put.json()["ClientTransactionID"] == 9


def test_empty_client_transaction_id_is_answered_as_zero(gw):
    resp = api(gw, "GET", "safetymonitor/0/name", ClientTransactionID="")
    assert resp.status_code == 200 and resp.json()["ClientTransactionID"] == 0


@pytest.mark.parametrize("bad", ["-1", "abc", "4294967296"])
def test_bad_client_transaction_id_is_a_400_naming_it(gw, bad):
    # Issue 18: Alpaca numbers are ASCII digits; anything else is refused, naming the parameter.
    resp = api(gw, "GET", "safetymonitor/0/name", ClientTransactionID=bad)
    assert resp.status_code == 400 and "ClientTransactionID" in resp.text


def test_parameter_names_are_case_insensitive_and_extras_tolerated(gw):
    assert api(gw, "PUT", "safetymonitor/0/connected", connected="True", ClientID=5).ok
    resp = api(gw, "GET", "safetymonitor/0/connected", clientid=5, clienttransactionid=3, x=1)
    assert resp.json()["Value"] is True and resp.json()["ClientTransactionID"] == 3
    oc = api(gw, "PUT", "observingconditions/0/connected", CONNECTED="true", ClientID=5)
    assert oc.ok
    desc = api(
        gw, "GET", "observingconditions/0/sensordescription", sensorname="humidity", ClientID=5
    )
    assert desc.json()["ErrorNumber"] == 0 and desc.json()["Value"]


@pytest.mark.parametrize(
    ("method", "path", "params"),
    [
        ("GET", "telescope/0/name", {}),  # a type we do not serve
        ("GET", "SafetyMonitor/0/name", {}),  # device types are lower case in Alpaca URLs
        ("GET", "safetymonitor/1/name", {}),  # no device #1
        ("GET", "safetymonitor/x/name", {}),
        ("GET", "safetymonitor/0/nosuchmember", {}),
        ("GET", "safetymonitor/0/IsSafe", {}),  # member names are lower case too
        ("PUT", "safetymonitor/0/issafe", {}),  # read-only member
        ("PUT", "safetymonitor/0/connected", {}),  # missing parameter
        ("PUT", "safetymonitor/0/connected", {"Connected": "maybe"}),
        ("PUT", "observingconditions/0/averageperiod", {"AveragePeriod": "soon"}),
    ],
)
def test_protocol_faults_answer_http_400_with_a_message(gw, method, path, params):
    resp = api(gw, method, path, **params)
    assert resp.status_code == 400
    assert resp.text.strip()


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(max_size=12))
def test_connected_accepts_only_true_or_false(gw, text):
    resp = api(gw, "PUT", "safetymonitor/0/connected", Connected=text, ClientID=99)
    expected_ok = text.strip().lower() in ("true", "false")
    assert resp.status_code == (200 if expected_ok else 400)


def test_served_by_waitress_not_the_flask_dev_server(gw):
    resp = api(gw, "GET", "safetymonitor/0/name")
    assert resp.headers.get("Server", "").startswith("waitress")


# ---- management API and setup pages -------------------------------------------------------
def test_management_api(gw, make_gateway, plc_sim):
    assert requests.get(f"{gw.url}/management/apiversions", timeout=5).json()["Value"] == [1]
    description = requests.get(f"{gw.url}/management/v1/description", timeout=5).json()["Value"]
    assert {"ServerName", "Manufacturer", "ManufacturerVersion", "Location"} <= set(description)
    devices = requests.get(f"{gw.url}/management/v1/configureddevices", timeout=5).json()["Value"]
    assert {(d["DeviceType"], d["DeviceNumber"]) for d in devices} == {
        ("SafetyMonitor", 0),
        ("ObservingConditions", 0),
    }
    assert len({d["UniqueID"] for d in devices}) == 2
    other = make_gateway(plc_sim.port)  # a restarted gateway keeps the same UniqueIDs
    again = requests.get(f"{other.url}/management/v1/configureddevices", timeout=5).json()
    assert again["Value"] == devices


def test_setup_pages(gw):
    page = requests.get(f"{gw.url}/setup", timeout=5)
    assert page.ok and "text/html" in page.headers["Content-Type"]
    device = requests.get(f"{gw.url}/setup/v1/safetymonitor/0/setup", timeout=5)
    assert device.ok and "PyROS weather safety" in device.text
    unknown = requests.get(f"{gw.url}/setup/v1/telescope/0/setup", timeout=5)
    assert unknown.status_code == 403 and "text/html" in unknown.headers["Content-Type"]


# ---- SafetyMonitor (ConformU SafetyMonitor checks) ------------------------------------------
def test_safetymonitor_members_with_alpyca(gw, clock):
    monitor = SafetyMonitor(f"127.0.0.1:{gw.port}", 0)
    assert monitor.IsSafe is False  # not connected: False, not an error (ASCOM)
    monitor.Connect()  # Platform 7
    wait_for(lambda: not monitor.Connecting, 5, what="connected")
    assert monitor.Connected is True
    assert monitor.InterfaceVersion == 3
    assert monitor.Name and monitor.Description and monitor.DriverInfo and monitor.DriverVersion
    assert monitor.SupportedActions == []
    with pytest.raises(ActionNotImplementedException):
        monitor.Action("nothing")
    with pytest.raises(NotImplementedException):
        monitor.CommandBlind("x", False)
    state = {item["Name"]: item["Value"] for item in monitor.DeviceState}
    assert state["IsSafe"] is False and "TimeStamp" in state
    clock.advance(31)
    wait_for(lambda: monitor.IsSafe, 10, what="safe after the reopen delay")
    monitor.Disconnect()
    assert monitor.Connected is False and monitor.IsSafe is False


def test_connected_is_per_client(gw):
    api(gw, "PUT", "safetymonitor/0/connected", Connected="true", ClientID=1)
    api(gw, "PUT", "safetymonitor/0/connected", Connected="true", ClientID=2)
    api(gw, "PUT", "safetymonitor/0/connected", Connected="false", ClientID=2)
    assert api(gw, "GET", "safetymonitor/0/connected", ClientID=1).json()["Value"] is True
    assert api(gw, "GET", "safetymonitor/0/connected", ClientID=2).json()["Value"] is False


# ---- ObservingConditions (ConformU ObservingConditions checks) -------------------------------
def test_observingconditions_needs_a_connection(gw):
    oc = ObservingConditions(f"127.0.0.1:{gw.port}", 0)
    with pytest.raises(NotConnectedException):
        _ = oc.Temperature


def test_observingconditions_sensors(gw, clock):
    oc = ObservingConditions(f"127.0.0.1:{gw.port}", 0)
    oc.Connected = True
    assert oc.InterfaceVersion == 2
    for name, (low, high) in IMPLEMENTED.items():
        value = getattr(oc, name)
        assert isinstance(value, float) and low <= value <= high, name
        assert oc.SensorDescription(name)
        assert 0 <= oc.TimeSinceLastUpdate(name) < 5
    for name in NOT_IMPLEMENTED:
        with pytest.raises(NotImplementedException):
            getattr(oc, name)
        with pytest.raises(NotImplementedException):
            oc.SensorDescription(name)
        with pytest.raises(NotImplementedException):
            oc.TimeSinceLastUpdate(name)
    with pytest.raises(InvalidValueException):
        oc.SensorDescription("Nonsense")
    assert oc.Pressure == pytest.approx(769.2)  # WXT520 at site elevation, hPa = mbar
    assert oc.Temperature == pytest.approx(12.12)
    assert oc.RainRate == 0.0
    state = {item["Name"]: item["Value"] for item in oc.DeviceState}
    assert set(IMPLEMENTED) <= set(state)


def test_time_since_last_update_follows_the_clock(gw, clock, plc_sim):
    oc = ObservingConditions(f"127.0.0.1:{gw.port}", 0)
    oc.Connected = True
    plc_sim.stop()  # no fresh reading any more
    wait_for(lambda: not gw.state.current().elements["plc"].value == "ok", 10, what="PLC gone")
    clock.advance(3)
    assert oc.TimeSinceLastUpdate("Temperature") >= 3
    assert oc.TimeSinceLastUpdate("") >= 3


def test_average_period_accepts_only_zero(gw):
    oc = ObservingConditions(f"127.0.0.1:{gw.port}", 0)
    oc.Connected = True
    assert oc.AveragePeriod == 0.0
    # alpyca 3.1.3 has no AveragePeriod setter: PUT it raw, as ConformU does.
    client = {"ClientID": oc._client_id}
    put = api(gw, "PUT", "observingconditions/0/averageperiod", AveragePeriod="0", **client)
    assert put.json()["ErrorNumber"] == 0
    for bad in ("-1", "1.5"):
        put = api(gw, "PUT", "observingconditions/0/averageperiod", AveragePeriod=bad, **client)
        assert put.status_code == 200 and put.json()["ErrorNumber"] == 0x401
    assert oc.AveragePeriod == 0.0  # Refresh: test_refresh_polls_the_plc_at_once


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    member=st.text(alphabet="abcdefghijklmnopqrstuvwxyz_ -%.", min_size=1, max_size=16),
    method=st.sampled_from(["GET", "PUT"]),
    params=st.dictionaries(st.text(min_size=1, max_size=12), st.text(max_size=12), max_size=4),
)
@example(member=".", method="GET", params={})  # the client drops it: an empty member
@example(member="nosuchmember", method="PUT", params={})
def test_arbitrary_requests_get_an_alpaca_answer_or_400_never_a_crash(gw, member, method, params):
    device = "observingconditions/0/"
    resp = api(gw, method, device + requests.utils.quote(member, safe=""), **params)
    assert resp.status_code in (200, 400), resp.status_code  # 400 for an unknown member
    if resp.status_code == 200:
        body = resp.json()
        assert body["ErrorNumber"] == 0 or body["ErrorMessage"]


def test_put_with_a_json_body_is_a_400_not_a_crash(gw):
    resp = requests.put(
        f"{gw.url}/api/v1/safetymonitor/0/connected", json={"Connected": True}, timeout=5
    )
    assert resp.status_code == 400 and "Connected" in resp.text
    assert api(gw, "GET", "safetymonitor/0/name").ok  # still serving


def test_refresh_polls_the_plc_at_once(tmp_path, clock, plc_sim):
    from plc_gateway.server import Gateway
    from tests.plc_gateway.conftest import gateway_config

    config = gateway_config(tmp_path)
    slow = config.model_copy(update={"plc": config.plc.model_copy(update={"poll_period_s": 60})})
    gw = Gateway(slow, clock, None, ("127.0.0.1", plc_sim.port), 0, 0).start()
    try:
        wait_for(lambda: plc_sim.requests_answered == 1, 10, what="the first poll")
        oc = ObservingConditions(f"127.0.0.1:{gw.port}", 0)
        oc.Connected = True
        oc.Refresh()  # ASCOM: read the sensors now rather than at the next period
        wait_for(lambda: plc_sim.requests_answered == 2, 10, what="a poll on Refresh")
    finally:
        gw.stop()
