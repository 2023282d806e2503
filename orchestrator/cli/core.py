"""Core commands: init, start, status, orchestrator, web, config."""

from __future__ import annotations

import json
import os
import signal
import threading

import click

from orchestrator.cli.context import CliContext, telescope_option

ADMIN_PASSWORD_ENV = "PYROS_ADMIN_PASSWORD"


@click.command()
@click.pass_obj
def init(obj: CliContext) -> None:
    """Create or upgrade the database and load the demo site (safe to run again).

    The admin's password is taken from $PYROS_ADMIN_PASSWORD, or generated and printed once.
    """
    from orchestrator.bootstrap import ADMIN_USERNAME, init_site

    runtime = obj.runtime("init")
    result = init_site(runtime, os.environ.get(ADMIN_PASSWORD_ENV) or None)
    click.echo(f"database {runtime.config.database.url} at revision {result.revision}")
    if result.admin_password:
        click.echo(f"created user '{ADMIN_USERNAME}' with password: {result.admin_password}")
        click.echo("(shown once; set $PYROS_ADMIN_PASSWORD to choose it)")
    elif result.admin_created:
        click.echo(f"created user '{ADMIN_USERNAME}' with the password of ${ADMIN_PASSWORD_ENV}")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def status(obj: CliContext, as_json: bool) -> None:
    """One screen: database, jobs, devices, safety (exit code 1 when the database is not ok)."""
    from orchestrator.status import format_status, system_status

    data = system_status(obj.runtime("status"))
    if as_json:
        click.echo(json.dumps(data, default=str, indent=2))
    else:
        click.echo(format_status(data))
    if not data["database"]["ok"]:  # not initialised, unreachable or behind: scripts must see it
        raise SystemExit(1)


@click.command()
@telescope_option
@click.pass_obj
def start(obj: CliContext) -> None:
    """Start everything of the embedded default, supervised; Ctrl-C stops it all cleanly."""
    from orchestrator.supervisor import Supervisor, embedded_processes, pyros_argv

    runtime = obj.runtime("start")
    specs = embedded_processes(runtime.config)
    supervisor = Supervisor(
        specs, pyros_argv(obj.config_path, obj.verbosity), runtime.config.folders.logs
    )
    web = runtime.config.web
    click.echo(f"pyros: web page on http://{web.host}:{web.port}/")
    raise SystemExit(supervisor.run())


@click.command("orchestrator")
@telescope_option
@click.pass_obj
def orchestrator_cmd(obj: CliContext) -> None:
    """Run the orchestrator's jobs alone (what `pyros start` supervises); one per telescope."""
    from orchestrator.jobs import run_orchestrator
    from orchestrator.lease import lease_name, run_with_lease

    runtime = obj.runtime("orchestrator")
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    name = lease_name(runtime.config.telescope.name)
    run_with_lease(runtime.sessions, stop, lambda: run_orchestrator(runtime, stop), name)


@click.command()
@click.pass_obj
def web(obj: CliContext) -> None:
    """Serve the web pages and JSON API alone (waitress)."""
    from web import serve

    runtime = obj.runtime("web")
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt))
    try:
        serve(runtime)
    except KeyboardInterrupt:
        pass


@click.command("config")
@click.option("--check", is_flag=True, help="Only validate the configuration.")
@click.pass_obj
def config_cmd(obj: CliContext, check: bool) -> None:
    """Print the shipped default configuration (redirect it to pyros.toml to edit it)."""
    from orchestrator.config import default_config_text, load_config

    if check:
        config = load_config(obj.config_path)
        click.echo(f"config ok: {config.source or 'shipped default'}")
    else:
        click.echo(default_config_text(), nl=False)


def register(cli: click.Group) -> None:
    for command in (init, status, start, orchestrator_cmd, web, config_cmd):
        cli.add_command(command)
