"""One FastAGI request, as a caller's channel: typed access to its headers and the few AGI
commands the dialogues use. A caller who hangs up mid-dialogue raises ``CallerGone``."""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import datetime
from typing import Any

from panoramisk.fast_agi import Request
from panoramisk.utils import parse_agi_result

log = logging.getLogger(__name__)

# What MSet passes through unharmed: it splits on commas outside parentheses and on '=',
# and strips quotes.
_MSET_NAME = re.compile(r"[A-Z_]+(\([a-z_]+(,[a-z_]+)?\))?")
_MSET_VALUE = re.compile(r"[A-Za-z0-9_-]*")


class CallerGone(Exception):
    """The caller hung up in the middle of the dialogue."""


class AgiChannel:
    """A thin, typed wrapper over one FastAGI request."""

    def __init__(self, request: Request) -> None:
        self._request = request
        self.headers: dict[str, str] = dict(request.headers)
        self.played: list[str] = []  # every prompt the caller was played, in order

    @property
    def channel(self) -> str:
        return self.headers.get("agi_channel", "")

    @property
    def caller_id(self) -> str:
        return self.headers.get("agi_callerid", "")

    def argument(self, number: int) -> str | None:
        """The dialplan's ``AGI(url,arg1,arg2...)`` arguments, from 1."""
        return self.headers.get(f"agi_arg_{number}")

    async def command(
        self, line: str, timeout: float = 60.0, *, last: bool = False
    ) -> dict[str, Any]:
        """Send one AGI command and read Asterisk's answer. ``last``: the dialogue's last
        command, sent with the end of this side of the socket (a half-close), so Asterisk
        runs it, answers, reads the end and leaves AGI at once: the caller goes on through
        the dialplan without waiting for this process to wake up, read the answer and close
        (the hand-over after the PIN is on the caller's path into the room). The answer is
        still read, off that path.

        One command at a time: a second one written before Asterisk has answered the first
        is not run (Asterisk then waits for more bytes on the socket; an answer and a
        listen sent together left every caller in silence, tried 2026-12-07)."""
        try:
            # asyncio.timeout, not wait_for: no task per command, no extra turns of the
            # loop between Asterisk's answer and the next command (the caller is waiting).
            async with asyncio.timeout(timeout):
                if last:
                    result: dict[str, Any] = await self._send_last(line)
                else:
                    result = await self._request.send_command(line)
        except (ConnectionError, asyncio.IncompleteReadError, TimeoutError) as exc:
            raise CallerGone(str(exc)) from exc
        except ValueError as exc:  # panoramisk cannot parse the empty line of a closed socket
            if self._request.reader.at_eof():
                raise CallerGone("connection closed") from exc
            raise
        if (
            result.get("error") in ("AGIResultHangup", "AGIAppError")
            or result.get("status_code") == 511
        ):
            raise CallerGone(result.get("msg", "hangup"))
        if "error" in result:
            log.warning(
                "agi.command_failed command=%s error=%s", line.split()[0:2], result.get("error")
            )
        return result

    async def play(self, *prompts: str) -> None:
        for prompt in prompts:
            self.played.append(prompt)
            await self.command(f'STREAM FILE {prompt} ""')

    async def say_datetime(self, when: datetime, zone: str, form: str) -> None:
        """Say a moment with Asterisk's SayUnixTime rules (``SAY DATETIME``): in the
        channel's language, the wall-clock time in ``zone`` (an IANA name Asterisk's own
        time zone database knows), ``form`` as in say.conf (``A`` weekday, ``B`` month,
        ``d`` day, ``IMp`` the hour in 12-hour form)."""
        seconds = int(when.timestamp())
        self.played.append(f"time:{seconds}@{zone}")
        await self.command(f'SAY DATETIME {seconds} "" "{form}" {zone}')

    async def ask_key(self, prompts: list[str], keys: str, timeout_ms: int) -> str:
        """Play ``prompts`` until the caller presses one of ``keys``, then wait up to
        ``timeout_ms`` for one; the key, or "" for none."""
        for n, prompt in enumerate(prompts):
            if n == 0:
                self._asking(prompt)
            self.played.append(prompt)
            key = _key_of(await self.command(f'STREAM FILE {prompt} "{keys}"'))
            if key:
                return key
        key = _key_of(await self.command(f"WAIT FOR DIGIT {timeout_ms}"))
        return key if key in keys else ""

    async def listen(self, timeout_ms: int) -> str:
        """Silence for up to ``timeout_ms`` that hears a key: the key pressed, or "" when
        none was. Between two commands Asterisk throws keys away; during this one, no."""
        log.debug("agi.listening channel=%s caller_id=%s", self.channel, self.caller_id)
        return _key_of(await self.command(f"WAIT FOR DIGIT {timeout_ms}"))

    async def read_digits(self, prompt: str, timeout_ms: int, max_digits: int) -> str:
        self._asking(prompt)
        self.played.append(prompt)
        result = await self.command(f"GET DATA {prompt} {timeout_ms} {max_digits}")
        value = str(result.get("result", ("", ""))[0])
        return value if value.isdigit() else ""

    def _asking(self, prompt: str) -> None:
        """Said just before a prompt that hears keys goes to Asterisk: the test callers type
        then, as a person does on hearing it (keys sent any earlier may fall between two
        commands, where Asterisk throws them away)."""
        log.debug(
            "agi.asking channel=%s caller_id=%s prompt=%s", self.channel, self.caller_id, prompt
        )

    async def variable(self, expression: str) -> str:
        """An expression's value on the channel, e.g. ``${CHANNEL(endpoint)}``."""
        result = await self.command(f"GET FULL VARIABLE {expression}")
        found = result.get("result", ("0", ""))
        return str(found[1]) if str(found[0]) == "1" else ""

    async def pause(self, seconds: float) -> None:
        """Wait ``seconds`` with nothing played (the caller hears silence), noticing a hang-up
        at once: Asterisk says ``HANGUP`` on the socket when the channel goes."""
        if seconds <= 0:
            return
        try:
            line = await asyncio.wait_for(self._request.reader.readline(), seconds)
        except TimeoutError:
            return
        except (ConnectionError, asyncio.IncompleteReadError) as exc:
            raise CallerGone(str(exc)) from exc
        raise CallerGone(line.decode(errors="replace").strip() or "connection closed")

    async def _send_last(self, line: str) -> dict[str, Any]:
        writer = self._request.writer
        writer.write(f"{line}\n".encode(self._request.encoding))
        writer.write_eof()
        while True:  # past "100 Trying...", as panoramisk's send_command does
            answer = await self._request.reader.readline()
            result: dict[str, Any] = parse_agi_result(answer.decode(self._request.encoding)[:-1])
            if result.get("status_code") != 100:
                return result

    def hand_back(self) -> None:
        """End the dialogue now: Asterisk leaves AGI and runs the rest of the dialplan."""
        self._request.writer.close()

    async def set_variable(self, name: str, value: str) -> None:
        """One variable whose value MSet cannot carry (a path), quoted whole."""
        if not _MSET_NAME.fullmatch(name) or set(value) & set('"\\\r\n'):
            raise ValueError(f"cannot pass {name}={value!r} through SET VARIABLE")
        await self.command(f'SET VARIABLE {name} "{value}"')

    async def set_all(self, values: dict[str, str], *, last: bool = False) -> None:
        """Set many variables (and function values) in one round trip, with MSet;
        ``last``: and hand the caller back to the dialplan with it (see ``command``)."""
        for name, value in values.items():
            if not (_MSET_NAME.fullmatch(name) and _MSET_VALUE.fullmatch(value)):
                raise ValueError(f"cannot pass {name}={value!r} through MSet")
        pairs = ",".join(f"{name}={value}" for name, value in values.items())
        await self.command(f'EXEC MSet "{pairs}"', last=last)


def _key_of(result: dict[str, Any]) -> str:
    """The key an AGI answer names (the character's code; 0 for none)."""
    value = str(result.get("result", ("0", ""))[0])
    return chr(int(value)) if value.isdigit() and int(value) > 0 else ""
