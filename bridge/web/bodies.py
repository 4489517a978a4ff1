"""A request's JSON body as an action's arguments, for the API and the panel alike: whatever
a client sends (a charset nobody knows, JSON nested a thousand deep, numbers too long to
read), the answer is a 400 that says what was wrong and where (``body.place: ...``), never
a 500. Path parameters and queries are checked by the same ``validate``."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ValidationError

from bridge.errors import BadField


async def read_body(request: web.Request, limit: int) -> tuple[bytes, str | None]:
    """The request's body (at most ``limit`` bytes) and its declared charset."""
    raw = await request.content.read(limit + 1)
    if len(raw) > limit:
        raise BadField("the body is too large")
    try:
        return raw, request.charset
    except ValueError:  # a Content-Type header that does not parse
        raise BadField("unreadable Content-Type header") from None


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
