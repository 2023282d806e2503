"""The vendored front-end files are the registry package's, unchanged (sums in the vendor
README), and the app serves them itself: no page refers to another host."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import web

VENDOR = Path(web.__file__).parent / "static" / "vendor"
SUM_RE = re.compile(r"^([0-9a-f]{64})  (\S+)$", re.M)


def test_vendored_files_match_their_recorded_sums():
    sums = SUM_RE.findall((VENDOR / "README.md").read_text())
    assert len(sums) >= 3, "the vendor README lists no sums"
    for digest, name in sums:
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name


def test_pages_load_no_asset_from_another_host():
    templates = Path(web.__file__).parent / "templates"
    for page in templates.glob("*.html"):
        text = page.read_text()
        for attr in re.findall(r'(?:src|href)="([^"]+)"', text):
            assert not re.match(r"(https?:)?//", attr), f"{page.name}: {attr}"
