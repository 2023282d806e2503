"""Issue 18 item 8: every XML refusal is one short line naming the line and the field."""

from __future__ import annotations

import pytest

from orchestrator.errors import InputError
from orchestrator.requests.xml_io import parse_request

HUGE = 10_000_001


@pytest.mark.parametrize(
    "data, words",
    [
        (b'<request name="' + b"a" * HUGE + b'"/>', "not well-formed XML"),
        (b'<request name="x" program="' + b"b" * 5000 + b'"><sequence/></request>', "program"),
        (b"<request>\n\n<" + b"c" * 100_000 + b"\n", "not well-formed XML"),
    ],
    ids=["10 MB attribute", "5000-char attribute", "huge tag"],
)
def test_errors_on_huge_values_are_one_short_line(data, words):
    with pytest.raises(InputError) as caught:
        parse_request(data, "big.xml")
    text = str(caught.value)
    assert "\n" not in text and len(text) < 500, text[:600]
    assert text.startswith("big.xml line ") and words in text
