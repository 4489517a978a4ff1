"""How long the entry desk takes to decide one PIN (the guard's ``gate`` and
``EntryDesk.try_pin``), alone and with callers deciding at once, on the stack's default
database (SQLite in WAL mode); then the whole decision as a join storm's caller meets it:
the PIN dialogue on a FastAGI socket, from Asterisk's answer to GET DATA (the digits) until
the dialogue's ``EXEC MSet`` (the bench plays Asterisk's side of the socket, in the same
process: the service's own work, without the wake-ups between two processes).

    .venv/bin/python -m bench.entry_bench [--profile]

``--profile`` runs the concurrent case and the socket case under pyinstrument and prints
where the time goes. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from bench.stats import Summary, fmt
from bridge.asterisk.fastagi import FastAgiServer
from bridge.asterisk.pin_dialogue import entry_route
from bridge.domain.guard import internet_source
from bridge.domain.roster import Switchboard
from bridge.roomsfile import load_rooms_file
from bridge.service.entry import EntryDesk
from bridge.settings import Settings
from bridge.store.db import Database, upgrade
from bridge.store.pin_key import install_pin_key
from bridge.store.rooms import sync_rooms

ROOMS = Path(__file__).resolve().parent / "rooms.yaml"
SECRET = "bench-secret"


async def dialogue_decisions(desk: EntryDesk, callers: int) -> list[float]:
    """``callers`` PIN dialogues one after another through the FastAGI server on a loopback
    socket: ms from the GET DATA answer written until the MSet line is read."""
    server = FastAgiServer([entry_route(desk, 3)], secret=SECRET, dialogues_per_second=1e6)
    listening = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    port = listening.sockets[0].getsockname()[1]
    took: list[float] = []
    try:
        for n in range(callers):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            headers = (
                f"agi_network_script: {SECRET}/entry\nagi_channel: PJSIP/anonymous-{n:08x}\n"
                f"agi_callerid: 555{n:04d}\nagi_arg_1: 10.2.{n // 256}.{n % 256}:5060\n"
                "agi_arg_2: anonymous\nagi_arg_3: \nagi_arg_4: \n\n"
            )
            writer.write(headers.encode())
            while True:
                command = (await reader.readline()).decode()
                if not command:
                    break
                if command.startswith("GET DATA"):
                    started = time.perf_counter()
                    writer.write(b"200 result=2468\n")
                elif command.startswith("EXEC MSet"):
                    took.append(1000 * (time.perf_counter() - started))
                    writer.write(b"200 result=0\n")
                else:
                    writer.write(b"200 result=0\n")
            writer.close()
    finally:
        listening.close()
    return took


async def decide(desk: EntryDesk, callers: int, at_once: int) -> list[float]:
    took: list[float] = []
    gate = asyncio.Semaphore(at_once)

    async def one(n: int) -> None:
        async with gate:
            started = time.perf_counter()
            source = internet_source(f"10.1.{n // 256}.{n % 256}")
            desk.gate(source)
            await desk.try_pin(source, "2468")
            took.append(1000 * (time.perf_counter() - started))

    await asyncio.gather(*(one(n) for n in range(callers)))
    return took


async def main(profile: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(state_dir=Path(tmp))
        url = settings.effective_database_url
        key = install_pin_key(settings)
        await upgrade(url, pin_key=key)
        db = Database(url)
        async with db.sessions.begin() as session:
            await sync_rooms(session, load_rooms_file(ROOMS), pin_key=key)
        desk = EntryDesk(settings, db, Switchboard(), lambda: None)
        await decide(desk, 20, 1)  # warm: connections, statement cache, the room cache
        for at_once in (1, 20):
            if profile and at_once > 1:
                from pyinstrument import Profiler

                with Profiler(async_mode="enabled") as profiler:
                    took = await decide(desk, 500, at_once)
                profiler.print(show_all=False)
            else:
                took = await decide(desk, 500, at_once)
            s = Summary.of(took)
            print(
                f"try_pin, {at_once:>2} at once: p50 {fmt(s.p50, 2)} p99 {fmt(s.p99, 2)} "
                f"max {fmt(s.max, 2)} ms  (room table loads: {desk.rooms.loads})"
            )
        await dialogue_decisions(desk, 20)  # warm
        if profile:
            from pyinstrument import Profiler

            with Profiler(async_mode="enabled") as profiler:
                took = await dialogue_decisions(desk, 500)
            profiler.print(show_all=False)
        else:
            took = await dialogue_decisions(desk, 500)
        s = Summary.of(took)
        print(
            f"the dialogue's decision on a socket (GET DATA answered -> MSet read): "
            f"p50 {fmt(s.p50, 2)} p99 {fmt(s.p99, 2)} max {fmt(s.max, 2)} ms"
        )
        await db.dispose()


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--profile", action="store_true")
    asyncio.run(main(ap.parse_args().profile))
