"""The scenario a test caller's SIPp runs (``bridge.sipcaller`` explains why it is built this
way): the call's plan (``CallPlan``) rendered from ``sipp/caller.xml``, with a wait for each
step that also answers session refreshes, a BYE from the bridge and the in-dialog requests
(``HANGUP``, ``KEYS``, ``PRESSi``) by which ``Caller`` steers the call."""

from __future__ import annotations

import ipaddress
import re
import string
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from xml.sax.saxutils import quoteattr

from bridge.sipp_streams import KEY_FILES, PAUSE

TEMPLATE = Path(__file__).parent / "sipp" / "caller.xml"
HANGUP_METHOD = "HANGUP"
KEYS_METHOD = "KEYS"  # in-dialog: type the plan's keys now (``keys_on_request``)
BYE_RECV = '  <recv request="BYE" next="remote_bye"/>'  # every wait: the bridge may hang up
ANSWER_TIMEOUT = 30.0  # seconds to wait for the 200 OK before SIPp cancels the call
_TOKEN = re.compile(r"[A-Za-z0-9_.+-]+")  # safe unquoted in SIP, XML and file names
# Name: value, on one line, without SIPp's [keywords] or XML's CDATA end.
_HEADER = re.compile(r"[A-Za-z][A-Za-z0-9-]*: [^\r\n\[\]&]+")


@dataclass(frozen=True)
class CallPlan:
    target_host: str = "127.0.0.1"
    target_port: int = 5060
    extension: str = "1000"
    keys: str = ""  # DTMF typed after answer, e.g. "424242#"; 0-9 * #, and "," waits 1 s
    key_delay: float = 1.5  # seconds after 200 OK before the first key (the prompt plays)
    # The keys wait to be asked for (``Caller.type_keys``, as a person waits for the prompt);
    # key_delay is then the longest wait.
    keys_on_request: bool = False
    audio: bool = False  # play speech-like PCMA after the keys, for the whole stay
    echo: bool = False  # send back every RTP packet heard: what the caller hears, Asterisk hears
    stay: float = 5.0  # seconds in the call after the keys, then BYE
    caller_id: str = "sipp"  # user part and display name of From; "anonymous" works
    local_port: int = 0  # SIP UDP port; 0 = pick a free one
    # The address the call comes from; "" = the one that routes to the target. Any of
    # 127.0.0.0/8 works on Linux's loopback: tests call from many "sources" on one machine.
    local_ip: str = ""
    media_port: int = 0  # RTP port (SIPp also binds port+2); 0 = pick a free one
    # Keys typed later, in this order, each when asked (``Caller.press``), e.g. ("*9", "*9")
    # for a caller who raises a hand and later says they are done. Only without audio.
    later_keys: tuple[str, ...] = ()
    # More headers on the INVITE, e.g. ("P-Asserted-Identity: <sip:+15550100@carrier>",) for
    # a call as a carrier delivers it (the DID goes in ``extension``).
    headers: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("extension", "caller_id"):  # they go into SIP and XML unquoted
            if not _TOKEN.fullmatch(getattr(self, name)):
                raise ValueError(f"{name} must match {_TOKEN.pattern}")
        if self.local_ip:
            ipaddress.ip_address(self.local_ip)  # ValueError for anything else
        if bad := set(self.keys) - KEY_FILES.keys() - {PAUSE}:
            raise ValueError(f"keys can only be 0-9 * # and ',', not {''.join(sorted(bad))!r}")
        if self.keys.startswith(PAUSE):
            raise ValueError("keys cannot start with a pause: use key_delay for that")
        if self.key_delay < 0 or self.stay < 0:
            raise ValueError("key_delay and stay cannot be negative")
        for later in self.later_keys:
            if not later or set(later) - KEY_FILES.keys():
                raise ValueError(f"later keys can only be 0-9 * #, not {later!r}")
        if self.later_keys and self.audio:
            raise ValueError("later keys need a caller without audio")
        for header in self.headers:
            if not _HEADER.fullmatch(header):
                raise ValueError(f"not one SIP header line SIPp can send: {header!r}")


@cache
def _template(path: Path = TEMPLATE) -> string.Template:
    return string.Template(path.read_text())


def _refresh(plan: CallPlan, name: str, back: str) -> str:
    return _template(TEMPLATE.with_name("refresh.xml")).substitute(
        name=name, back=back, caller_id=plan.caller_id
    )


def press_method(index: int) -> str:
    """The in-dialog request that makes a waiting caller type ``plan.later_keys[index]``."""
    return f"PRESS{index}"


def render_scenario(
    plan: CallPlan,
    *,
    dtmf: tuple[Path, float] | None = None,
    audio: tuple[Path, float] | None = None,
    later: tuple[Path, ...] = (),
    answer_timeout: float = ANSWER_TIMEOUT,
) -> str:
    """The scenario XML for a plan; dtmf and audio are (pcap, seconds) when the plan uses them."""
    steps: list[str] = []

    def wait(seconds: float, presses: int = 0, go: bool = False) -> None:  # or HANGUP, BYE
        ms, label = max(1, round(seconds * 1000)), f"waited{len(steps)}"  # 0 = forever
        early = "".join(  # later keys asked for already: typed 0.3 s on (_idle_with_presses)
            f'\n  <recv request="{press_method(i)}" optional="true" next="early{i}"/>'
            for i in range(presses)
        ) + (f'\n  <recv request="{KEYS_METHOD}" optional="true" next="{label}"/>' if go else "")
        steps.append(
            f'  <label id="{label}-again"/>\n  <recv request="{HANGUP_METHOD}" optional="true"'
            f' timeout="{ms}" ontimeout="{label}" next="hangup"/>{early}\n  <recv request="INVITE"'
            f' optional="true" next="{label}-refresh"/>\n{BYE_RECV}\n'
            + _refresh(plan, label, f"{label}-again")
            + f'\n  <label id="{label}"/>'
        )

    def play(pcap: Path) -> None:
        steps.append(
            f"  <nop><action><exec play_pcap_audio={quoteattr(str(pcap))}/></action></nop>"
        )

    if plan.keys:
        if dtmf is None:
            raise ValueError("a plan with keys needs its DTMF pcap")
        wait(plan.key_delay, go=plan.keys_on_request)
        play(dtmf[0])
        # A new play would cut the last key's end packets short; later keys may be asked for.
        wait(dtmf[1] + 0.3, presses=len(later) if plan.later_keys else 0)
    left = plan.stay
    if plan.audio:
        if audio is None or audio[1] < 0.5:
            raise ValueError("a plan with audio needs an audio pcap")
        while left > 0:  # SIPp plays a pcap once: start it again whenever it runs out
            play(audio[0])
            wait(min(left, audio[1]))
            left -= audio[1]
    elif plan.later_keys:
        if len(later) != len(plan.later_keys):
            raise ValueError("a plan with later keys needs a DTMF pcap for each")
        steps.append(_idle_with_presses(left, later, _refresh(plan, "idle", "idle")))
    else:
        wait(left)
    return _template().substitute(
        hangup=HANGUP_METHOD,
        caller_id=plan.caller_id,
        headers="".join(f"\n      {header}" for header in plan.headers),
        answer_timeout_ms=round(answer_timeout * 1000),
        body="\n".join(steps),
    )


def _idle_with_presses(stay: float, pcaps: tuple[Path, ...], refresh: str) -> str:
    """Stay until the time is up, a HANGUP or the bridge's BYE; a PRESSi request plays the
    i-th later keys (and the stay starts over, long enough for the test that asked)."""
    ms = max(1, round(stay * 1000))
    lines = [
        '  <label id="idle"/>',
        f'  <recv request="{HANGUP_METHOD}" optional="true" timeout="{ms}"'
        ' ontimeout="stayed" next="hangup"/>',
    ]
    lines += [
        f'  <recv request="{press_method(i)}" optional="true" next="press{i}"/>'
        for i in range(len(pcaps))
    ]
    lines += ['  <recv request="INVITE" optional="true" next="idle-refresh"/>', BYE_RECV]
    for i, pcap in enumerate(pcaps):
        lines += [
            f'  <label id="early{i}"/>',  # asked for during the wait after the PIN
            f'  <recv request="{HANGUP_METHOD}" optional="true" timeout="300"'
            f' ontimeout="press{i}" next="hangup"/>',
            BYE_RECV,
            f'  <label id="press{i}"/>',
            f'  <nop next="idle"><action><exec play_pcap_audio={quoteattr(str(pcap))}/>'
            "</action></nop>",
        ]
    lines += [refresh, '  <label id="stayed"/>']
    return "\n".join(lines)
