"""The repository stands on its own: nothing in it reads or links outside its own tree.

`.ci/run` runs the test command on a clone in an empty temporary folder; this test names the
offending file and line at once, on any machine.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# A path that climbs out of the repository to a sibling folder (`../name/`, `REPO.parent`),
# or the team's reference shelf that a clone does not have.
OUTSIDE = re.compile(r"\.\./(?!\.)[\w.-]+/|REPO\.parent\b|\bshared/(?:data|seed|DESIGN|PLATFORM)")
TEXT_SUFFIXES = {".py", ".md", ".toml", ".sh", ".cfg", ".ini", ".yaml", ".yml", ".txt", ""}


def tracked_files() -> list[Path]:
    out = subprocess.run(
        ["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    return [REPO / name for name in out.splitlines()]


def test_no_file_refers_to_a_path_outside_the_repository():
    offenders = []
    for path in tracked_files():
        if path.suffix not in TEXT_SUFFIXES or not path.is_file() or "tests/data" in str(path):
            continue
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            if OUTSIDE.search(line) and path != Path(__file__):
                offenders.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert not offenders, "\n".join(offenders)


def test_every_test_data_file_has_its_origin_noted():
    data = REPO / "tests" / "data"
    readme = (data / "README.md").read_text()
    for folder in sorted(p for p in data.iterdir() if p.is_dir()):
        assert f"`{folder.name}/" in readme, f"tests/data/{folder.name}/ has no origin line"
