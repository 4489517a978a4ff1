"""``iobridge serve``: the bridge service in its own process, beside an Asterisk it does not
own. Under ``up`` it is the supervisor's child (``bridge.supervisor``), told to stop by its
lifeline (stdin) closing."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Callable, Sequence
from typing import Any

from bridge.asterisk.readiness import check_own_asterisk
from bridge.domain.nodes import NodeSpec
from bridge.errors import StartupError
from bridge.runtime import Runtime, read_nodes
from bridge.service.nodes import NodeSecretMissing, secret_of
from bridge.settings import Settings
from bridge.systemd import notify

log = logging.getLogger(__name__)


async def serve(
    settings: Settings,
    progress: Callable[[str], None],
    *,
    lifeline: bool = False,
) -> None:
    """Run the bridge service until SIGTERM/SIGINT (calls go on without it), until the
    supervisor's lifeline closes (``up`` is stopping with its Asterisk: the calls end), or
    until the service's own work fails (StackError: the supervisor restarts it). Under
    ``up`` (``lifeline``) the rooms were checked before Asterisk started."""
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopped.set)
    # Alone, on PostgreSQL, one service of the database is active; the others wait as its
    # standby. Under ``up`` the Asterisk is the supervisor's own: no standby there.
    stack = Runtime(settings, progress, provision=not lifeline, exclusive=not lifeline)
    try:
        try:
            active = await _take_turn(stack, stopped)
            if active and not lifeline:  # under ``up``, the Asterisk is ours, from our files
                stack.check_ports(with_pbx=False)  # said before Asterisk is asked anything
                await check_asterisk(settings, progress)
        except BaseException:
            await stack.stop()
            raise
        if not active:  # stopped while standby
            await stack.stop()
            return
        await _serve(stack, stopped, lifeline)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


async def check_asterisk(settings: Settings, progress: Callable[[str], None]) -> None:
    """Say what the Asterisk this service drives lacks (``bridge.asterisk.readiness``), one
    line each; refuse to start (StartupError) if callers could not use the rooms. With a
    nodes file, each node's (``check_nodes``)."""
    nodes = read_nodes(settings)
    if nodes:
        await check_nodes(settings, nodes, progress)
        return
    missing = await check_own_asterisk(settings)
    if missing is None:
        progress(
            f"asterisk: not checked: no AMI login on port {settings.ami_port} yet "
            "(the service keeps trying)"
        )
        return
    for item in missing:
        if not item.refuses:
            log.warning("asterisk.lacks what=%r", item.line)
            progress(f"asterisk: {item.line}")
    refusing = [item.line for item in missing if item.refuses]
    if refusing:
        raise StartupError(
            f"the Asterisk on AMI port {settings.ami_port} lacks what io-bridge needs "
            '(docs/admin.md, "Your own Asterisk"):\n' + "\n".join(refusing)
        )


async def _take_turn(stack: Runtime, stopped: asyncio.Event) -> bool:
    """Wait for this service's turn (``Runtime.take_turn``); False if stopped first."""
    loop = asyncio.get_running_loop()
    turn = loop.create_task(stack.take_turn(), name="take-turn")
    signalled = loop.create_task(stopped.wait(), name="signal")
    try:
        await asyncio.wait({turn, signalled}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        signalled.cancel()
    if not turn.done():
        turn.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await turn
        return False
    turn.result()  # its failure, if it failed
    return True


async def check_nodes(
    settings: Settings, nodes: Sequence[NodeSpec], progress: Callable[[str], None]
) -> None:
    """Every node checked at once; one line per node that is unreachable (the service
    starts on the others and keeps trying) or lacks something; StartupError naming the
    nodes whose Asterisk callers could not use."""
    try:
        secrets = [secret_of(node) for node in nodes]
    except NodeSecretMissing as exc:
        raise StartupError(str(exc)) from exc
    found = await asyncio.gather(
        *(
            check_own_asterisk(settings, ami=(node.ami.host, node.ami.port), secret=secret)
            for node, secret in zip(nodes, secrets, strict=True)
        )
    )
    refusing: list[str] = []
    for node, missing in zip(nodes, found, strict=True):
        if missing is None:
            log.warning("nodes.unreachable node=%s ami=%s", node.name, node.ami)
            progress(
                f"node {node.name}: no AMI login on {node.ami} yet (the service starts on "
                "the other nodes and keeps trying)"
            )
            continue
        for item in missing:
            line = f"node {node.name}: {item.line}"
            if item.refuses:
                refusing.append(line)
            else:
                log.warning("asterisk.lacks node=%s what=%r", node.name, item.line)
                progress(f"asterisk: {line}")
    if refusing:
        raise StartupError(
            "these nodes' Asterisk lack what io-bridge needs (docs/admin.md, \"More than one "
            'machine"):\n' + "\n".join(refusing)
        )
    progress(f"io-bridge service drives {len(nodes)} nodes: {', '.join(n.name for n in nodes)}")


async def _serve(stack: Runtime, stopped: asyncio.Event, lifeline: bool) -> None:
    settings, progress, loop = stack.settings, stack.progress, asyncio.get_running_loop()
    await stack.start(with_pbx=False)
    if not lifeline:
        progress(f"io-bridge service is up, for the Asterisk AMI on port {settings.ami_port}")
        progress(f"Panel: http://{settings.local_host}:{settings.http_port}/")
        notify("READY=1", f"STATUS=serving on port {settings.http_port}")
    work = stack.service_task
    assert work is not None
    signalled = loop.create_task(stopped.wait(), name="signal")
    closed = loop.create_task(_until_eof(), name="lifeline") if lifeline else None
    lock = stack.lock_watch
    waits: set[asyncio.Future[Any]] = {work, signalled, *(t for t in (closed, lock) if t)}
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        signalled.cancel()
        if closed is not None:
            closed.cancel()
    cause = _failure(work) if work.done() else None
    if lock is not None and lock.done() and not lock.cancelled():
        cause = lock.exception() or RuntimeError("the service lock's watch ended")
        await stack.fence()  # first, at once: another service may be driving already
    if cause is not None:
        log.error("service.failed reason=%r", cause, exc_info=cause)
    if not lifeline:
        notify("STOPPING=1")
    await stack.stop(ending_calls=closed is not None and closed.done() and not closed.cancelled())
    if cause is not None:
        raise StartupError(f"the bridge service stopped on an error: {cause!r} (see the log above)")


def _failure(task: asyncio.Task[None]) -> BaseException:
    """Why the service's work ended (it only ends by failing): the first real error."""
    cause: BaseException = (
        asyncio.CancelledError() if task.cancelled() else task.exception() or RuntimeError("ended")
    )
    while isinstance(cause, BaseExceptionGroup) and cause.exceptions:
        cause = cause.exceptions[0]
    return cause


async def _until_eof() -> None:
    """Read the supervisor's pipe on stdin until it closes."""
    reader = asyncio.StreamReader()
    loop = asyncio.get_running_loop()
    transport, _ = await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), sys.stdin
    )
    try:
        while await reader.read(4096):
            pass
    finally:
        transport.close()
