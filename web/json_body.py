"""Reading a JSON body safely: size, nesting depth and non-finite numbers are refused with 400.

`json.loads` recurses once per nesting level: a body 100,000 levels deep raised RecursionError
(an HTTP 500, issue 18). The depth is counted first, in one pass that skips strings.
"""

from __future__ import annotations

import json
from typing import Any

from orchestrator.errors import InputError

MAX_DEPTH = 32


def nesting_depth(text: str) -> int:
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def _no_constant(name: str) -> Any:
    raise InputError("request", f"{name} is not a JSON number")


def parse_json(data: bytes, max_depth: int = MAX_DEPTH) -> Any:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError("request", "body is not UTF-8") from None
    if nesting_depth(text) > max_depth:
        raise InputError("request", f"JSON nested deeper than {max_depth} levels")
    try:
        return json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise InputError("request", f"not valid JSON: {exc.msg} at line {exc.lineno}") from None
    except RecursionError:  # cannot happen after the depth check; never a 500 anyway
        raise InputError("request", f"JSON nested deeper than {max_depth} levels") from None
