"""The one place for the ASCOM Alpaca envelope (Alpaca Device API v1, data/ascom/).

Routes `/api/v1/<device_type>/<device_number>/<member>` to the device object's
`get_<member>` / `put_<member>` method and wraps what it returns or raises into
`Value`/`ClientTransactionID`/`ServerTransactionID`/`ErrorNumber`/`ErrorMessage`.
Protocol faults (unknown device type, number or member, bad parameter) answer HTTP 400.
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import re
import threading
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, request

log = logging.getLogger(__name__)
UINT32_MAX = 2**32 - 1
_MEMBER = re.compile(r"^[a-z]+$")
_ASCII_DIGITS = re.compile(r"[0-9]+")  # str.isdigit() also accepts '²' and Arabic-Indic digits


class AlpacaError(Exception):
    """An ASCOM error: answered with HTTP 200 and ErrorNumber/ErrorMessage set."""

    number = 0x500  # driver-specific errors are 0x500-0xFFF

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class NotImplementedAlpaca(AlpacaError):
    number = 0x400


class InvalidValue(AlpacaError):
    number = 0x401


class ValueNotSet(AlpacaError):
    number = 0x402


class NotConnected(AlpacaError):
    number = 0x407


class InvalidOperation(AlpacaError):
    number = 0x40B


class ActionNotImplemented(AlpacaError):
    number = 0x40C


class BadRequest(Exception):
    """A protocol fault: HTTP 400 with the message as plain text."""


@dataclass(frozen=True)
class Call:
    """One request's parameters, names folded to lower case (Alpaca names are case-blind)."""

    params: dict[str, str]
    client_id: int
    client_transaction_id: int

    def required(self, name: str) -> str:
        value = self.params.get(name.lower())
        if value is None:
            raise BadRequest(f"missing parameter {name}")
        return value

    def boolean(self, name: str) -> bool:
        text = self.required(name).strip().lower()
        if text not in ("true", "false"):
            raise BadRequest(f"parameter {name} must be true or false (got {text!r})")
        return text == "true"

    def number(self, name: str) -> float:
        text = self.required(name)
        try:
            # float() also reads '٣', '1_0', 'nan' and 'inf': none is an Alpaca number.
            if not text.isascii() or "_" in text:
                raise ValueError
            value = float(text)
            if not math.isfinite(value):
                raise ValueError
        except ValueError:
            raise BadRequest(f"parameter {name} must be a number (got {text!r:.40})") from None
        return value


def ascii_uint(text: str) -> int | None:
    """The value of a string of ASCII digits, else None (Alpaca numbers are ASCII only)."""
    return int(text) if _ASCII_DIGITS.fullmatch(text) else None


def _uint32(text: str | None, name: str) -> int:
    """ClientID / ClientTransactionID: missing or empty is 0; anything but a uint32 is a 400."""
    if text is None or not text.strip():
        return 0
    value = ascii_uint(text.strip())
    if value is None or value > UINT32_MAX:
        raise BadRequest(f"parameter {name} must be a uint32 in ASCII digits (got {text!r:.40})")
    return value


def parse_call() -> Call:
    """This request's parameters; raises BadRequest naming a bad ClientID/ClientTransactionID."""
    # Alpaca: GET parameters are in the query string, PUT parameters in a form body.
    source = request.form if request.method == "PUT" else request.args
    params: dict[str, str] = {}
    for key in source:
        params.setdefault(key.lower(), source[key])
    return Call(
        params,
        _uint32(params.get("clientid"), "ClientID"),
        _uint32(params.get("clienttransactionid"), "ClientTransactionID"),
    )


class _TransactionCounter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count = itertools.count(1)

    def next(self) -> int:
        with self._lock:
            return next(self._count)


SERVER_TRANSACTIONS = _TransactionCounter()


def envelope(call: Call, value: Any = None, error: AlpacaError | None = None, has_value=True):
    body: dict[str, Any] = {}
    if has_value and error is None:
        body["Value"] = value
    body["ClientTransactionID"] = call.client_transaction_id
    body["ServerTransactionID"] = SERVER_TRANSACTIONS.next()
    body["ErrorNumber"] = error.number if error else 0
    body["ErrorMessage"] = error.message if error else ""
    return Response(json.dumps(body), mimetype="application/json")


def bad_request(message: str) -> Response:
    return Response(message, status=400, mimetype="text/plain")


def device_blueprint(devices: dict[tuple[str, int], Any]) -> Blueprint:
    """`devices` maps (device_type, device_number) to a device object."""
    bp = Blueprint("alpaca_api", __name__)
    types = {device_type for device_type, _ in devices}

    @bp.route("/api/v1/<device_type>/<device_number>/<member>", methods=["GET", "PUT"])
    def member(device_type: str, device_number: str, member: str):
        if device_type not in types:
            return bad_request(f"unknown device type {device_type!r}")
        number = ascii_uint(device_number)
        if number is None or (device_type, number) not in devices:
            return bad_request(f"no {device_type} number {device_number!r:.40}")
        device = devices[(device_type, number)]
        method = request.method.lower()
        handler = getattr(device, f"{method}_{member}", None) if _MEMBER.match(member) else None
        if handler is None:
            return bad_request(f"{device_type} has no {request.method} member {member!r}")
        try:
            call = parse_call()
        except BadRequest as exc:
            return bad_request(str(exc))
        try:
            value = handler(call)
        except BadRequest as exc:
            return bad_request(str(exc))
        except AlpacaError as exc:
            return envelope(call, error=exc)
        except Exception as exc:  # a bug must not kill the server: report it as a driver error
            log.exception("%s %s failed", request.method, request.path)
            return envelope(call, error=AlpacaError(f"internal error: {exc}"))
        return envelope(call, value, has_value=method == "get")

    # Any other path under /api/v1 (a missing or empty member, extra segments) is a malformed
    # request too: 400 as the rule above, not Flask's 404.
    @bp.route("/api/v1/", defaults={"rest": ""}, methods=["GET", "PUT"])
    @bp.route("/api/v1/<path:rest>", methods=["GET", "PUT"])
    def not_a_member(rest: str):
        return bad_request(f"not an Alpaca device path: /api/v1/{rest}")

    return bp
