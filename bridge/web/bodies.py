"""A request's JSON body as an action's arguments, for the API and the panel alike: whatever
a client sends (a charset nobody knows, JSON nested a thousand deep, numbers too long to
read), the answer is a 400 that says what was wrong and where (``body.place: ...``), never
a 500. Path parameters and queries are checked by the same ``validate``. The panel's small
forms are read here too (``read_form``), with the same size and time limits."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import StreamReader, web
from pydantic import BaseModel, ValidationError

from bridge.errors import BadField, BodyTooSlow

MAX_FORM = 4096  # a login form is a name, a password and where to go next
DEFAULT_BODY_SECONDS = 10.0
BODY_SECONDS = web.AppKey("body_seconds", float)  # the install's http_body_seconds


async def read_body(request: web.Request, limit: int) -> tuple[bytes, str | None]:
    """The request's body (at most ``limit`` bytes) and its declared charset. The whole body
    must arrive within the install's ``http_body_seconds``: a client that dribbles it is
    answered 408, so it cannot hold a connection for long."""
    if request.content_length is not None and request.content_length > limit:
        raise BadField("the body is too large")
    deadline = request.app.get(BODY_SECONDS, DEFAULT_BODY_SECONDS)
    try:
        async with asyncio.timeout(deadline):
            raw = await _read_up_to(request.content, limit + 1)
    except TimeoutError:
        # Answered 408; aiohttp then drains the rest for at most its lingering time
        # (``HttpLimits``) before it closes the connection.
        raise BodyTooSlow(deadline) from None
    if len(raw) > limit:
        raise BadField("the body is too large")
    try:
        return raw, request.charset
    except ValueError:  # a Content-Type header that does not parse
        raise BadField("unreadable Content-Type header") from None


async def _read_up_to(content: StreamReader, most: int) -> bytes:
    """Up to ``most`` bytes, all of them (``read(n)`` alone returns what has arrived)."""
    chunks: list[bytes] = []
    size = 0
    while size < most:
        chunk = await content.read(most - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


async def read_form(request: web.Request, limit: int = MAX_FORM) -> dict[str, str]:
    """A small urlencoded form (the login's, the logout's): its fields, the first value of
    each, read with the same limits as every body (never ``request.post()``, which reads
    any size at any pace)."""
    if request.content_type not in ("application/x-www-form-urlencoded", ""):
        raise BadField("expected a form (application/x-www-form-urlencoded)")
    raw, charset = await read_body(request, limit)
    try:
        text = raw.decode(charset or "utf-8")
    except (LookupError, ValueError):
        raise BadField("the form is not UTF-8 text") from None
    try:
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=20)
    except ValueError:
        raise BadField("the form has too many fields") from None
    fields: dict[str, str] = {}
    for name, value in pairs:
        fields.setdefault(name, value)
    return fields


def read_object(raw: bytes, charset: str | None, model: type[BaseModel]) -> BaseModel:
    """``raw`` (in ``charset``, UTF-8 if none) as ``model``; an empty body is ``{}``."""
    return validate(model, read_json(raw, charset), "body")


def validate(model: type[BaseModel], data: Any, where: str) -> BaseModel:
    """``data`` as ``model``, or a 400 naming the first problem and where it is."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise BadField(first_problem(exc, where)) from None
    except RecursionError:
        raise BadField(f"the {where} is nested too deeply") from None


def read_json(raw: bytes, charset: str | None) -> dict[str, Any]:
    """``raw`` (in ``charset``, UTF-8 if none) as a JSON object; an empty body is ``{}``."""
    try:
        text = raw.decode(charset or "utf-8")
    except LookupError:
        raise BadField(f"unknown charset {str(charset)[:40]!r} (send UTF-8)") from None
    except ValueError:
        raise BadField(f"the body is not {charset or 'utf-8'} text") from None
    try:
        data: Any = json.loads(text) if text.strip() else {}
    except (ValueError, RecursionError):
        raise BadField("the body is not JSON") from None
    if not isinstance(data, dict):
        raise BadField("the body must be a JSON object")
    return data


def first_problem(exc: ValidationError, where: str) -> str:
    """One line a person reads: where, and what is wrong there."""
    error = exc.errors()[0]
    place = ".".join(str(part) for part in error["loc"])
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{where}{'.' + place if place else ''}: {message}"
