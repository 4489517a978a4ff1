"""FastAGI speaks only to Asterisk: a local process that connects without the install's
secret hears nothing and its dialogue is closed, whatever route it names; the secret never
reaches the log; a source that does not parse is refused; and new dialogues are limited a
second, all callers together."""

from __future__ import annotations

import asyncio
import logging
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bridge.asterisk.fastagi import DialogueRate, FastAgiServer, split_script
from bridge.asterisk.install import AsteriskInstall
from bridge.asterisk.keypad import keys_route
from bridge.asterisk.pin_dialogue import entry_route
from bridge.asterisk.process import render_config
from bridge.domain.guard import Gate, Proceed, Source
from bridge.settings import Settings
from tests.adapters.test_agi_routes import NoKeyExpected, closed_at_once
from tests.adapters.test_agi_server import AGI_SECRET, NobodyAtTheDesk


def request(script: str, *arguments: str) -> bytes:
    headers = [
        "agi_network: yes",
        f"agi_network_script: {script}",
        f"agi_request: agi://127.0.0.1:4573/{script}",
        "agi_channel: PJSIP/anonymous-00000001",
        "agi_callerid: 5550100",
        *(f"agi_arg_{n}: {value}" for n, value in enumerate(arguments, start=1)),
    ]
    return ("\n".join(headers) + "\n\n").encode()


class Served:
    def __init__(self, desk: NobodyAtTheDesk, server: asyncio.Server) -> None:
        self.desk = desk
        self.server = server
        self.port = int(server.sockets[0].getsockname()[1])

    async def heard(self, payload: bytes) -> bytes | None:
        """What the server said before closing (b"" for nothing), None if it kept it open."""
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        writer.write(payload)
        await writer.drain()
        try:
            return await asyncio.wait_for(reader.read(), 1)
        except ConnectionResetError:
            return b""
        except TimeoutError:
            return None
        finally:
            writer.close()


async def serve(per_second: float = 50.0) -> Served:
    desk = NobodyAtTheDesk()
    fastagi = FastAgiServer(
        [entry_route(desk, 3), keys_route(NoKeyExpected(), Path("/nowhere"))],
        secret=AGI_SECRET,
        dialogues_per_second=per_second,
    )
    return Served(desk, await asyncio.start_server(fastagi.handle, "127.0.0.1", 0))


@pytest.fixture
async def served() -> AsyncIterator[Served]:
    running = await serve()
    yield running
    running.server.close()


@pytest.mark.parametrize(
    "script",
    [
        "entry",
        "keys",
        "/entry",
        "wrong-secret-0123456789/entry",
        f"{AGI_SECRET[:-1]}/entry",
        f"{AGI_SECRET}x/entry",
        f"x{AGI_SECRET}/keys",
    ],
)
async def test_a_request_without_the_secret_hears_nothing_and_is_closed(
    served: Served, script: str
) -> None:
    assert await served.heard(request(script, "203.0.113.7:5060", "anonymous")) == b""
    assert served.desk.calls == []  # no route ran: no call entered, no prompt


class PromptingDesk(NobodyAtTheDesk):
    def gate(
        self,
        source: Source,
        held_for: float = 0.0,
        channel: str = "",
        called_for: str | None = None,
    ) -> Gate:
        self.calls.append(f"gate {source}")
        return Proceed(0.0)

    def asking_pin(self, source: Source) -> None:
        self.calls.append(f"asking {source}")

    def abandon(self, source: Source, called_for: str | None = None) -> None:
        self.calls.append("abandon")  # the test hangs up during the prompt


async def test_a_request_with_the_secret_runs_its_route() -> None:
    desk = PromptingDesk()
    fastagi = FastAgiServer([entry_route(desk, 3)], secret=AGI_SECRET)
    server = await asyncio.start_server(fastagi.handle, "127.0.0.1", 0)
    async with server:
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(request(f"{AGI_SECRET}/entry", "203.0.113.7:5060", "anonymous"))
        silence = await asyncio.wait_for(reader.readline(), 5)
        writer.write(b"200 result=0\n")  # no key in the half second before the prompt
        first = await asyncio.wait_for(reader.readline(), 5)
        writer.close()
    assert silence == b"WAIT FOR DIGIT 500\n"
    assert first.startswith(b"GET DATA conf-getpin")  # the caller hears the PIN prompt
    # The desk hears of the prompt before it plays (a practice room's callers type then).
    source = "address:203.0.113.7"
    assert desk.calls[:3] == ["call_entered", f"gate {source}", f"asking {source}"]


async def test_the_secret_never_reaches_the_log(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="bridge")  # whatever level a fixture set it to
    await served.heard(request(f"{AGI_SECRET}/elsewhere"))
    await served.heard(request(f"{AGI_SECRET[:-2]}/entry"))
    await served.heard(request(f"{AGI_SECRET}/entry", "not-an-address", "anonymous"))
    assert "agi.refused reason=unknown_script" in caplog.text
    assert "agi.refused reason=no_secret" in caplog.text
    assert AGI_SECRET[:-2] not in caplog.text


@pytest.mark.parametrize(
    "address", ["not-an-address", "", "203.0.113.7.1:5060", "[2001:db8::zz]:5060", "host:5060"]
)
async def test_a_source_address_that_does_not_parse_is_refused(
    served: Served, address: str, caplog: pytest.LogCaptureFixture
) -> None:
    assert await served.heard(request(f"{AGI_SECRET}/entry", address, "anonymous")) == b""
    assert served.desk.calls == []
    assert "reason=bad_arguments" in caplog.text


async def test_new_dialogues_over_the_rate_are_closed_at_once() -> None:
    running = await serve(per_second=2)
    try:
        payload = request(f"{AGI_SECRET}/elsewhere")  # refused after the doors: quick
        for _ in range(2):
            assert await running.heard(payload) == b""
        reader, writer = await asyncio.open_connection("127.0.0.1", running.port)
        writer.write(request(f"{AGI_SECRET}/entry", "203.0.113.7:5060", "anonymous"))
        assert await closed_at_once(reader)  # over the rate: no dialogue, nothing said
        writer.close()
        assert running.desk.calls == []
    finally:
        running.server.close()


def test_the_rate_lets_one_seconds_worth_through_then_refills() -> None:
    now = [100.0]
    rate = DialogueRate(5, clock=lambda: now[0])
    assert [rate.take() for _ in range(6)] == [True] * 5 + [False]
    now[0] += 0.2  # a fifth of a second: one more
    assert [rate.take(), rate.take()] == [True, False]
    now[0] += 60  # never more than one second's worth saved up
    assert sum(rate.take() for _ in range(10)) == 5


def test_the_secret_is_split_off_the_script_in_constant_time_comparison() -> None:
    assert split_script(f"{AGI_SECRET}/keys", AGI_SECRET) == "keys"
    assert split_script("keys", AGI_SECRET) is None
    assert split_script(f"{AGI_SECRET}", AGI_SECRET) is None
    assert split_script(f"{AGI_SECRET.upper()}/keys", AGI_SECRET) is None


def test_every_route_in_the_rendered_dialplan_carries_the_secret(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path / "state")
    root = tmp_path / "tree"
    (root / "usr/lib/asterisk/modules").mkdir(parents=True)
    install = AsteriskInstall(
        root=root, binary=root / "usr/sbin/asterisk", loader=None, version="22.0", private=True
    )
    dialplan = render_config(settings, install).parent / "extensions.conf"
    secret = settings.ensure_agi_secret().get_secret_value()
    assert stat.S_IMODE((settings.state_dir / "agi-secret").stat().st_mode) == 0o600
    assert stat.S_IMODE(dialplan.stat().st_mode) == 0o600
    text = dialplan.read_text()
    assert f"IOBRIDGE_AGI = agi://127.0.0.1:{settings.agi_port}/{secret}\n" in text
    agi_calls = [line for line in text.splitlines() if "AGI(" in line and line[0] != ";"]
    assert {call.split("AGI(")[1].split(",")[0] for call in agi_calls} == {
        "${IOBRIDGE_AGI}/entry",
        "${IOBRIDGE_AGI}/keys",
        "${IOBRIDGE_AGI}/dialout",
        "${IOBRIDGE_AGI}/alert",
    }


def test_a_given_secret_must_be_long_and_url_safe(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least 16 characters"):
        Settings(state_dir=tmp_path, agi_secret="short")
    with pytest.raises(ValueError, match="at least 16 characters"):
        Settings(state_dir=tmp_path, agi_secret="a-long-one-with/slash")
