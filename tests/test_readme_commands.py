"""Every `pyros ...` command the README shows exists as written, with the options it names.

The README's command tables are read as a user reads them: each backticked `pyros` form
(`pyros devices check` / `discover` / `simulate` continues the previous one's group) must
name a real command, and each `--option` written beside it must be an option of that command.
Commands are resolved, not run: nothing starts or moves.
"""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from orchestrator.cli import cli

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_commands() -> list[str]:
    """The command forms of the README's table rows, alternatives expanded."""
    forms = []
    for row in re.finditer(r"^\| (`pyros .*?) \|", README.read_text(), re.M):
        cell = row.group(1)
        parts = re.findall(r"`([^`]+)`", cell)
        base: list[str] = []
        for part in parts:
            if part.startswith("pyros "):
                forms.append(part)
                path = command_path(part.split()[1:])
                # `pyros pipeline` / `reduce`: a group's alternatives are its sub-commands;
                # `pyros plan` / `replan`: a command's alternatives are its siblings.
                named = resolve(path)[0]
                base = ["pyros", *(path if isinstance(named, click.Group) else path[:-1])]
            else:  # "`pyros devices check` / `discover`": same group, another command
                forms.append(" ".join([*base, part]))
    return forms


def resolve(words: list[str]) -> tuple[click.Command, list[str]]:
    """The command named by the leading words, and the rest of the words."""
    command: click.Command = cli
    rest = list(words)
    while rest and isinstance(command, click.Group) and rest[0] in command.commands:
        command = command.commands[rest.pop(0)]
    return command, rest


def command_path(words: list[str]) -> list[str]:
    """The names of the groups and the command that the leading words name."""
    command: click.Command = cli
    path = []
    for word in words:
        if not (isinstance(command, click.Group) and word in command.commands):
            break
        command = command.commands[word]
        path.append(word)
    return path


FORMS = readme_commands()


def test_the_readme_shows_commands():
    assert len(FORMS) >= 20, FORMS


@pytest.mark.parametrize("form", FORMS)
def test_readme_command_exists_with_its_options(form):
    words = form.replace("\\|", " ").replace("[", " ").replace("]", " ").replace("|", " ").split()
    assert words[0] == "pyros"
    words = [w for w in words[1:] if w != "..." and w != ">"]
    # Options of the group (`pyros --config F status`) come before the command.
    while words and words[0] in ("--config", "-v", "-vv"):
        words = words[2:] if words[0] == "--config" else words[1:]
    command, rest = resolve(words)
    assert command is not cli, f"{form!r}: no such command"
    assert not isinstance(command, click.Group) or not rest or rest[0].startswith("-") or (
        rest[0].isupper()
    ), f"{form!r}: {rest[0]!r} is not a command of {command.name}"
    known = {opt for param in command.params for opt in param.opts + param.secondary_opts}
    known |= {"--help", "--config"}
    for word in rest:
        if word.startswith("--"):
            assert word in known, f"{form!r}: {command.name} has no option {word}"
