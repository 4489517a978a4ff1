"""Does the Asterisk that ``iobridge serve`` drives have what io-bridge needs? Asked over the
service's own AMI user at start, which may not run CLI commands (no "command" class, on
purpose): the actions it may send (ListCommands) tell which modules are loaded and which
write classes it holds, ShowDialPlan which contexts exist, dialplan functions read through
Getvar which function modules are loaded, and a call that hangs up at once (a Local channel
into [iobridge-announce-play], as the announcer originates) whether its events arrive.

``Missing.refuses``: what leaves callers stranded (no room to join, keys that play an error
tone, a roster blind to calls) stops the start; what breaks one feature (whispers, the
announcer, recordings) is said and the service starts. Not checkable this way: res_agi and
app_chanspy (they add neither an action this user may send nor a function), the ConfBridge
profiles and menus (no AMI action lists them), the prompts' folder (docs/admin.md says how
to check those by hand)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr

from bridge.asterisk.ami import AmiClient
from bridge.errors import BridgeError, PbxUnavailable
from bridge.settings import Settings

Send = Callable[[dict[str, str]], Awaitable[list[Any]]]

# The contexts io-bridge's dialplan defines (dialplan/extensions.conf).
CONTEXTS = (
    "iobridge-entry",
    "iobridge-keys",
    "iobridge-group",
    "iobridge-whisper",
    "iobridge-whisper-say",
    "iobridge-whisper-wait",
    "iobridge-announce",
    "iobridge-announce-play",
    "iobridge-broadcast",
    "iobridge-broadcast-listen",
    "iobridge-recorder",
    "iobridge-recorder-watch",
    "iobridge-dialout",
    "iobridge-alert",
)
# Function modules the dialplan uses: (what Getvar reads, what it gives when the module is
# loaded (nothing when it is not), the module, what fails without it).
FUNCTIONS = (
    ("GROUP_COUNT(iobridge-check@iobridge-recorder)", "0", "func_groupcount.so", "recordings"),
    ("LEN(iobridge)", "8", "func_strings.so", "recordings and the announcer"),
)
PROBE_CONTEXT = "iobridge-announce-play"  # its "failed" hangs up at once
PROBE_CHANNEL = f"Local/failed@{PROBE_CONTEXT}/n"


@dataclass(frozen=True)
class Missing:
    """One thing the Asterisk lacks, in one line; ``refuses``: the service does not start."""

    line: str
    refuses: bool


def missing_actions(available: set[str], user: str) -> list[Missing]:
    """What the AMI actions this user may send say is missing (pure: ListCommands' names)."""
    found = {name.lower() for name in available}
    missing = []
    if not {"confbridgelist", "confbridgemute", "confbridgekick"} <= found:
        missing.append(
            Missing(
                "app_confbridge.so is not loaded, or the AMI user "
                f"'{user}' lacks write = call,reporting (ConfbridgeList/Mute/Kick)",
                refuses=True,
            )
        )
    if "originate" not in found:
        missing.append(
            Missing(
                f"the AMI user '{user}' may not originate (write = originate): whispers, "
                "the announcer and recordings will fail",
                refuses=False,
            )
        )
    if "stopmixmonitor" not in found:
        missing.append(Missing("app_mixmonitor.so is not loaded: recordings will fail", False))
    return missing


def missing_function(expected: str, got: str, module: str, fails: str) -> Missing | None:
    if got == expected:
        return None
    return Missing(f"{module} is not loaded: {fails} will fail", refuses=False)


def missing_context(context: str) -> Missing:
    return Missing(
        f"the dialplan has no [{context}]: #include iobridge-extensions.conf "
        "(iobridge asterisk config --for-existing) and run `dialplan reload`",
        refuses=True,
    )


async def check(
    send: Send, settings: Settings, events: asyncio.Queue[Mapping[str, Any]]
) -> list[Missing]:
    """Everything missing, over a logged-in AMI link (``send``) whose events go to ``events``."""
    user = settings.ami_username
    listed = (await send({"Action": "ListCommands"}))[0]
    available = {str(key) for key in dict(listed.items())}
    missing = missing_actions(available, user)
    names = {name.lower() for name in available}
    if "showdialplan" not in names:
        missing.append(Missing(f"the AMI user '{user}' lacks write = reporting", refuses=True))
        return missing
    absent = []
    for context in CONTEXTS:
        try:
            await send({"Action": "ShowDialPlan", "Context": context})
        except BridgeError:
            absent.append(context)
    missing += [missing_context(context) for context in absent]
    for variable, expected, module, fails in FUNCTIONS:
        reply = (await send({"Action": "Getvar", "Variable": variable}))[0]
        found = missing_function(expected, str(reply.get("Value", "")), module, fails)
        if found is not None:
            missing.append(found)
    if "originate" not in names or PROBE_CONTEXT in absent:
        return missing  # the probe call below needs both; what is missing is said above
    if not await _events_arrive(send, events):
        missing.append(
            Missing(
                f"the AMI user '{user}' hears no call events: it needs read = system,call "
                "and the eventfilter lines of iobridge-manager.conf (`manager reload`)",
                refuses=True,
            )
        )
    return missing


async def _events_arrive(send: Send, events: asyncio.Queue[Mapping[str, Any]]) -> bool:
    """Originate a call that hangs up at once; True when its Newchannel and Hangup arrive."""
    originate = {
        "Action": "Originate",
        "Channel": PROBE_CHANNEL,
        "Application": "Wait",
        "Data": "1",
        "Async": "true",
    }
    try:
        # Answered by its OriginateResponse event: a user that hears no call events never
        # gets it.
        await send(originate)
    except PbxUnavailable:
        return False
    probe = PROBE_CHANNEL.removesuffix("/n") + "-"  # Local/failed@iobridge-announce-play-1a2b;1
    seen: set[str] = set()
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(5):
            while seen != {"Newchannel", "Hangup"}:
                message = await events.get()
                name = str(message.get("Event", ""))
                if name in ("Newchannel", "Hangup") and str(message.get("Channel", "")).startswith(
                    probe
                ):
                    seen.add(name)
    return seen == {"Newchannel", "Hangup"}


async def check_own_asterisk(
    settings: Settings,
    timeout: float = 10.0,
    *,
    ami: tuple[str, int] | None = None,
    secret: SecretStr | None = None,
) -> list[Missing] | None:
    """Log in once with the service's AMI user and check; None when no login succeeded
    within ``timeout`` (Asterisk not up yet: the service keeps trying on its own). ``ami``
    and ``secret``: one node's of several (the nodes file), else the settings' own."""
    host, port = ami or ("127.0.0.1", settings.ami_port)  # as the service's own link
    try:  # nothing listening: say so at once, without the AMI link's retries and warnings
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 2)
        writer.close()
    except (OSError, TimeoutError):
        return None
    events: asyncio.Queue[Mapping[str, Any]] = asyncio.Queue(maxsize=10_000)

    async def nothing(_: bool) -> None:
        return None

    def hear(message: Mapping[str, Any]) -> None:
        with contextlib.suppress(asyncio.QueueFull):
            events.put_nowait(message)

    client = AmiClient(
        host,
        port,
        settings.ami_username,
        secret or settings.ensure_ami_secret(),
        on_event=hear,
        on_connected=nothing,
        action_timeout=settings.ami_action_timeout,
    )
    running = asyncio.create_task(client.run(), name="asterisk-check")
    try:
        try:
            await asyncio.wait_for(client.connected.wait(), timeout)
        except TimeoutError:
            return None
        return await check(client.send, settings, events)
    finally:
        await client.close()
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
