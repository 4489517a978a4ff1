"""A store function as a feature's callback: each call in a session of its own, a
transaction when it writes (``writing``), a plain session when it reads (``reading``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Concatenate, ParamSpec, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

P = ParamSpec("P")
T = TypeVar("T")


def writing(
    sessions: async_sessionmaker[AsyncSession],
    write: Callable[Concatenate[AsyncSession, P], Awaitable[object]],
) -> Callable[P, Awaitable[None]]:
    async def run(*args: P.args, **kwargs: P.kwargs) -> None:
        async with sessions.begin() as session:
            await write(session, *args, **kwargs)

    return run


def reading(
    sessions: async_sessionmaker[AsyncSession],
    read: Callable[Concatenate[AsyncSession, P], Awaitable[T]],
) -> Callable[P, Awaitable[T]]:
    async def run(*args: P.args, **kwargs: P.kwargs) -> T:
        async with sessions() as session:
            return await read(session, *args, **kwargs)

    return run
