"""Request and user commands: submit, export, and the user/program management an operator needs.

`pyros submit FILE.xml` goes through the same request builder as the web API; a bad file
prints one line naming the file, line and field, exits 2 and changes nothing.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from orchestrator.cli.context import CliContext

USER_PASSWORD_ENV = "PYROS_USER_PASSWORD"
CONSOLE_USER = "admin"  # whoever holds the console and the config already controls the site


@click.command()
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--user",
    "username",
    default=CONSOLE_USER,
    show_default=True,
    help="Submit on behalf of this user (their role, programs and quota apply).",
)
@click.pass_obj
def submit(obj: CliContext, file: Path, username: str) -> None:
    """Validate an XML request (see orchestrator/resources/request.xsd) and store it."""
    from orchestrator.errors import InputError
    from orchestrator.requests.builder import RequestBuilder
    from orchestrator.requests.xml_io import submit_xml

    try:
        data = file.read_bytes()
    except OSError as exc:
        raise InputError(str(file), f"cannot read ({exc.strerror})") from None
    runtime = obj.runtime("submit")
    builder = RequestBuilder(runtime.config, runtime.clock)
    done = submit_xml(builder, runtime.sessions, data, file.name, username)
    program = f", program {done.program}" if done.program else ""
    click.echo(
        f"request {done.request_id} accepted: {len(done.sequence_ids)} sequence(s), "
        f"{done.duration_h:.2f} h (user {done.username}{program})"
    )


@click.command("export")
@click.argument("request_id", type=int)
@click.pass_obj
def export(obj: CliContext, request_id: int) -> None:
    """Write a stored request as XML on stdout (`pyros submit` reads it back)."""
    from orchestrator.errors import InputError
    from orchestrator.model import Request
    from orchestrator.requests.builder import spec_of_request
    from orchestrator.requests.xml_io import request_to_xml

    if not 1 <= request_id < 2**63:  # beyond any id column: SQLite raised OverflowError
        raise InputError("request_id", f"no request {request_id} (ids are 1 to 2**63-1)")
    runtime = obj.runtime("export")
    with runtime.sessions() as session:
        request = session.get(Request, request_id)
        if request is None:
            raise InputError("request_id", f"no request {request_id}")
        xml = request_to_xml(spec_of_request(request))
    sys.stdout.buffer.write(xml)
    sys.stdout.flush()


@click.group("user")
def user_group() -> None:
    """Users: add, list, set a password, deactivate."""


@user_group.command("add")
@click.argument("name")
@click.option("--role", required=True, help="observer, pi, operator or admin.")
@click.option("--country", default=None, help="A country known to the site (pyros init adds some).")
@click.option("--program", "programs", multiple=True, help="Member of this program (repeatable).")
@click.option("--email", default="")
@click.option("--quota-h", type=float, default=None, help="Hours granted (default: the role's).")
@click.pass_obj
def user_add(
    obj: CliContext,
    name: str,
    role: str,
    country: str | None,
    programs: tuple[str, ...],
    email: str,
    quota_h: float | None,
) -> None:
    """Add a user; the password comes from $PYROS_USER_PASSWORD, else it is prompted for."""
    from orchestrator.users import add_user

    password = _password()
    runtime = obj.runtime("user")
    with runtime.sessions.begin() as session:
        user = add_user(
            session,
            runtime.clock.now(),
            name,
            role,
            password,
            country=country,
            programs=programs,
            email=email,
            quota_h=quota_h,
        )
        click.echo(f"user {user.username} added: role {user.role}, quota {user.quota_h:g} h")


@user_group.command("passwd")
@click.argument("name")
@click.pass_obj
def user_passwd(obj: CliContext, name: str) -> None:
    """Set a user's password ($PYROS_USER_PASSWORD, else prompted for)."""
    from orchestrator.errors import InputError
    from orchestrator.users import MIN_PASSWORD_LENGTH, find_user, hash_password

    password = _password()
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InputError("password", f"must have at least {MIN_PASSWORD_LENGTH} characters")
    runtime = obj.runtime("user")
    with runtime.sessions.begin() as session:
        find_user(session, name).password_hash = hash_password(password)
    click.echo(f"password of {name} changed")


@user_group.command("deactivate")
@click.argument("name")
@click.pass_obj
def user_deactivate(obj: CliContext, name: str) -> None:
    """Stop a user from logging in and submitting (their requests stay)."""
    from orchestrator.users import find_user

    runtime = obj.runtime("user")
    with runtime.sessions.begin() as session:
        find_user(session, name).is_active = False
    click.echo(f"user {name} deactivated")


@user_group.command("list")
@click.pass_obj
def user_list(obj: CliContext) -> None:
    """Users with their role, country, programs and quota (used + pending / granted)."""
    from sqlalchemy import select

    from orchestrator.model import User
    from orchestrator.users import quota_state

    runtime = obj.runtime("user")
    with runtime.sessions() as session:
        click.echo(f"{'user':16} {'role':9} {'country':10} {'used+pending/granted h':24} programs")
        for user in session.scalars(select(User).order_by(User.username)):
            q = quota_state(session, user)
            quota = f"{q.used_h:.2f}+{q.pending_h:.2f}/{q.quota_h:.2f}"
            country = user.country.name if user.country else "-"
            programs = ",".join(p.name for p in user.programs) or "-"
            flag = "" if user.is_active else " (deactivated)"
            click.echo(f"{user.username:16} {user.role:9} {country:10} {quota:24} {programs}{flag}")


@click.group("program")
def program_group() -> None:
    """Scientific programs and their quotas."""


@program_group.command("add")
@click.argument("name")
@click.option("--quota-h", type=float, required=True, help="Hours granted to the program.")
@click.option("--pi", default=None, help="User name of the principal investigator.")
@click.option("--description", default="")
@click.pass_obj
def program_add(
    obj: CliContext, name: str, quota_h: float, pi: str | None, description: str
) -> None:
    """Add a scientific program."""
    from orchestrator.users import add_program

    runtime = obj.runtime("program")
    with runtime.sessions.begin() as session:
        add_program(session, name, quota_h, pi=pi, description=description)
    click.echo(f"program {name} added: quota {quota_h:g} h")


@program_group.command("list")
@click.pass_obj
def program_list(obj: CliContext) -> None:
    """Programs with their quota (used + pending / granted) and members."""
    from sqlalchemy import select

    from orchestrator.model import ScientificProgram
    from orchestrator.users import quota_state

    runtime = obj.runtime("program")
    with runtime.sessions() as session:
        for program in session.scalars(select(ScientificProgram).order_by(ScientificProgram.name)):
            q = quota_state(session, program)
            members = ",".join(u.username for u in program.members) or "-"
            click.echo(
                f"{program.name:16} {q.used_h:.2f}+{q.pending_h:.2f}/{q.quota_h:.2f} h  "
                f"members: {members}"
            )


def _password() -> str:
    password = os.environ.get(USER_PASSWORD_ENV)
    if password:
        return password
    return click.prompt("password", hide_input=True, confirmation_prompt=True)


def register(cli: click.Group) -> None:
    for command in (submit, export, user_group, program_group):
        cli.add_command(command)
