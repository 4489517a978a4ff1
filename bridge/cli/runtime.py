"""The stack: ``up``, ``serve``, health, Asterisk itself, and test calls."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from bridge.cli.base import call_api, fail, main, run, settings, warn_unread_variables

if TYPE_CHECKING:
    from bridge.asterisk.install import AsteriskInstall
    from bridge.settings import Settings

# ---- the stack -------------------------------------------------------------------------


@main.command()
@click.option(
    "--host", help="Address for SIP and the panel (default 127.0.0.1; 0.0.0.0 in a container)."
)
@click.option(
    "--nodes",
    "node_count",
    type=click.IntRange(1, 20),
    default=None,
    help="Run N Asterisk nodes behind Kamailio on this machine (127.0.0.2, .3 ...).",
)
def up(host: str | None, node_count: int | None) -> None:
    """Bring the whole stack up: Asterisk, and the bridge service supervised beside it."""
    import asyncio
    import signal

    from bridge.logs import setup_logging
    from bridge.supervisor import ServiceDidNotStart, Supervisor
    from bridge.systemd import notify

    config = settings()
    warn_unread_variables()
    if host:
        config.bind_host = host
    setup_logging(config.log_level)

    async def supervise() -> None:
        supervisor = Supervisor(
            config, progress=lambda line: click.echo(line), node_count=node_count or 0
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            await supervisor.start()
        except ServiceDidNotStart:
            sys.exit(1)  # the service has said why, in one line
        click.echo(f"io-bridge is up. Dial {config.dial_target} (any SIP phone, or: iobridge call)")
        click.echo(f"Panel: http://{config.bind_host}:{config.http_port}/   Stop with Ctrl-C.")
        notify("READY=1", f"STATUS=up: {config.dial_target}")
        try:
            await stop.wait()
        finally:
            notify("STOPPING=1")
            click.echo("stopping io-bridge ...")
            await supervisor.stop()
            click.echo("stopped.")

    run(supervise())


@main.command()
@click.option("--lifeline", is_flag=True, hidden=True, help="Run under up: stdin is its pipe.")
def serve(lifeline: bool) -> None:
    """Run the bridge service alone, for an Asterisk run by someone else (its AMI on
    IOBRIDGE_AMI_PORT, its dialplan pointing at IOBRIDGE_AGI_PORT). Stopping it leaves
    every call up; the next start picks them up again."""
    from bridge import serve as service_process
    from bridge.logs import setup_logging

    config = settings()
    if not lifeline:  # under up, up has warned
        warn_unread_variables()
    setup_logging(config.log_level)
    run(
        service_process.serve(
            config,
            progress=lambda line: click.echo(line),
            lifeline=lifeline,
        )
    )


@main.command()
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="One JSON document: the service, and the Asterisk it runs with its version and age.",
)
def health(as_json: bool) -> None:
    """Exit 0 when the running stack answers and is connected to Asterisk (HEALTHCHECK),
    or is a standby service waiting for its turn (docs/admin.md, "A standby service")."""
    import json

    from bridge.asterisk.release import running_asterisk

    config = settings()
    state = call_api(config, "GET", "/healthz")
    role = state.get("role", "active")
    waiting = role == "standby"
    if as_json:
        connected = state.get("pbx") == "connected"
        facts = {
            "ok": connected or waiting,
            "pbx": state.get("pbx"),
            "role": role,
            "asterisk": running_asterisk(config),
        }
        click.echo(json.dumps(facts))
        sys.exit(0 if connected or waiting else 1)
    if waiting:
        click.echo("ok: standby: the bridge service answers and waits for the active one")
        return
    if state.get("pbx") != "connected":
        fail(f"the bridge service answers but Asterisk's AMI is {state.get('pbx', 'unknown')}")
    click.echo("ok: the bridge service answers and is connected to Asterisk")


@main.group()
def asterisk() -> None:
    """Find or build Asterisk; talk to the running one."""


def _ensure(config: Settings, refresh: bool = False) -> AsteriskInstall:
    """This stack's Asterisk (the system's, or the private one, built if need be)."""
    from bridge.asterisk.install import AsteriskInstallError, ensure_asterisk

    try:
        return ensure_asterisk(
            config.cache_dir,
            mirror=config.debian_mirror,
            suite=config.debian_suite,
            keyring=config.debian_keyring,
            binary=config.asterisk_binary,
            prefer_system=config.asterisk_prefer_system,
            progress=lambda line: click.echo(line),
            refresh=refresh,
        )
    except AsteriskInstallError as exc:
        fail(str(exc))


@asterisk.command("ensure")
@click.option(
    "--refresh",
    is_flag=True,
    help="Fetch Debian's newest signed build of the private Asterisk and swap it in at the "
    "next start (a running Asterisk is left alone).",
)
def asterisk_ensure(refresh: bool) -> None:
    """Use the system Asterisk (>= 20), or build a private Asterisk 22 from Debian's packages."""
    config = settings()
    found = _ensure(config, refresh)
    click.echo(f"Asterisk {found.version}: {found.binary}")


@asterisk.command("config")
@click.option(
    "--for-existing",
    "folder",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Write here what your own Asterisk needs (files to #include, the prompts, a README).",
)
def asterisk_config(folder: Path) -> None:
    """Configure an Asterisk of your own (20 or later) for io-bridge: its ConfBridge profiles
    and menus, dialplan contexts and AMI user, as files to #include, with a README."""
    from bridge.asterisk.own_asterisk import write_config_for_existing

    config = settings()
    if folder.exists() and not folder.is_dir():
        fail(f"{folder}: not a folder")
    if not folder.parent.is_dir():
        fail(f"{folder.parent}: no such folder")
    written = write_config_for_existing(config, folder)
    for path in written:
        click.echo(f"wrote {path}")
    click.echo(f"next: follow {folder.resolve() / 'README.md'}")


@asterisk.command("run")
@click.option(
    "--rendered",
    is_flag=True,
    help="Start with the configuration `iobridge asterisk render` made (as root) instead of "
    "rendering it: for Asterisk's own user, who cannot read the service's secrets.",
)
def asterisk_run(rendered: bool) -> None:
    """Run Asterisk in the foreground with io-bridge's configuration, as its own process
    (the iobridge-asterisk systemd unit): the bridge service (iobridge serve) can then stop,
    crash or restart without touching a call."""
    from bridge.asterisk.process import asterisk_environment, busy_ports, render_config
    from bridge.asterisk.release import record_started

    config = settings()
    warn_unread_variables()
    taken = [p for p in busy_ports(config) if p.purpose in ("SIP", "AMI")]
    if taken:
        fail(str(taken[0]))
    found = _ensure(config)
    conf = config.asterisk_dir / "etc" / "asterisk.conf"
    if not rendered:
        conf = render_config(config, found)
    elif not conf.exists():
        fail(
            f"no configuration in {conf.parent}: render it first as root (iobridge asterisk render)"
        )
    argv = found.command("-f", "-n", "-C", str(conf))
    record_started(config, found)
    click.echo(f"starting Asterisk {found.version} for {config.asterisk_dir}", err=True)
    sys.stdout.flush()
    os.execve(argv[0], argv, asterisk_environment())


@asterisk.command("render")
def asterisk_render() -> None:
    """As root, before Asterisk starts as its own user (IOBRIDGE_ASTERISK_USER; the
    iobridge-asterisk unit does this): make the AMI and FastAGI secrets in the service's
    state folder if missing, render Asterisk's configuration with them, and hand Asterisk
    its folder and the recordings folder."""
    from bridge.asterisk.process import render_config
    from bridge.asterisk.users import give_state_dir, owners_of

    config = settings()
    owners = owners_of(config)
    if owners is None:
        fail(
            "asterisk render is for root, with IOBRIDGE_ASTERISK_USER and "
            "IOBRIDGE_SERVICE_USER set; as one user, `iobridge asterisk run` renders itself"
        )
    found = _ensure(config)
    config.ensure_ami_secret()
    config.ensure_agi_secret()
    give_state_dir(config, owners)
    conf = render_config(config, found, owners)
    click.echo(f"rendered {conf.parent} for {owners.asterisk.name}", err=True)


@asterisk.command("cli", context_settings={"ignore_unknown_options": True})
@click.option("-x", "command", help="Run one CLI command and print its output (as asterisk -rx).")
def asterisk_cli(command: str | None) -> None:
    """Open the Asterisk console of the running stack."""
    from bridge.asterisk.install import AsteriskInstallError, ensure_asterisk
    from bridge.asterisk.process import AsteriskProcess

    config = settings()
    if not (config.asterisk_dir / "run" / "asterisk.ctl").exists():
        fail(f"no running Asterisk for {config.state_dir} (start it with: iobridge up)")
    try:
        found = ensure_asterisk(
            config.cache_dir,
            binary=config.asterisk_binary,
            prefer_system=config.asterisk_prefer_system,
            progress=lambda _: None,
        )
    except AsteriskInstallError as exc:
        fail(str(exc))
    argv = AsteriskProcess(config, found).cli_argv(*(["-x", command] if command else []))
    os.execv(argv[0], argv)


# ---- test calls ------------------------------------------------------------------------


@main.command()
@click.option("--keys", default="", help="Keys to type once answered, e.g. 424242#.")
@click.option("--audio/--no-audio", default=False, help="Play speech-like audio while in the room.")
@click.option("--stay", default=10.0, show_default=True, help="Seconds to stay after typing.")
@click.option("--caller-id", default="iobridge-call", show_default=True)
@click.option("--host", default=None, help="Bridge SIP address (default: this stack's).")
@click.option("--port", type=int, default=None, help="Bridge SIP port (default: this stack's).")
def call(
    keys: str, audio: bool, stay: float, caller_id: str, host: str | None, port: int | None
) -> None:
    """Dial the bridge with a SIPp test caller: type keys, optionally talk, hang up."""
    from bridge.runtime_file import read_runtime_file
    from bridge.sipcaller import CallPlan, SippMissing, place_call

    config = settings()
    running = read_runtime_file(config) or {}
    plan = CallPlan(
        target_host=host or str(running.get("sip_host", config.local_host)),
        target_port=port or int(str(running.get("sip_port", config.sip_port))),
        extension=config.entry_extension,
        keys=keys,
        audio=audio,
        stay=stay,
        caller_id=caller_id,
    )
    workdir = config.state_dir / "calls"
    workdir.mkdir(parents=True, exist_ok=True)
    click.echo(f"calling sip:{plan.extension}@{plan.target_host}:{plan.target_port} ...")
    try:
        result = run(place_call(plan, workdir))
    except SippMissing as exc:
        fail(str(exc))
    if not result.answered:
        fail(
            "the call was not answered: "
            + (result.log.strip().splitlines()[-1] if result.log.strip() else "no answer")
        )
    click.echo(f"call answered, lasted {result.duration:.1f} s, ended by the {result.ended_by}")
