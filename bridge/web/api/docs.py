"""``/api/v1/docs``: the OpenAPI document as a page to read, rendered on the server from the
generated document itself (no viewer, no script, nothing from a CDN): each operation with
its parameters, body and answers, and each schema as a table of its fields."""

from __future__ import annotations

import re
from typing import Any

import jinja2
from markupsafe import Markup, escape

REF = "#/components/schemas/"


def type_of(schema: dict[str, Any]) -> Markup:
    """A schema in a few words: ``string``, ``list of <Participant>``, ``fifo | progressive``,
    ``integer (1 to 500)``, ``RoomState or null``; models link to their table."""
    if "$ref" in schema:
        name = str(schema["$ref"]).removeprefix(REF)
        return Markup('<a href="#schema-{0}">{0}</a>').format(name)
    if "anyOf" in schema:
        return Markup(" or ").join(type_of(part) for part in schema["anyOf"])
    if "enum" in schema:
        return Markup(" | ").join(Markup("<code>{}</code>").format(v) for v in schema["enum"])
    if "const" in schema:
        return Markup("<code>{}</code>").format(schema["const"])
    kind = str(schema.get("type", "any"))
    if kind == "array":
        return Markup("list of ") + type_of(schema.get("items", {}))
    words = escape(kind)
    if "format" in schema:
        words += Markup(" ({})").format(schema["format"])
    low, high = schema.get("minimum"), schema.get("maximum")
    if low is not None or high is not None:
        words += Markup(" ({} to {})").format(low if low is not None else "", high or "")
    if "pattern" in schema:
        words += Markup(" matching <code>{}</code>").format(schema["pattern"])
    return words


_CODE = re.compile(r"``?([^`]+)``?")


def prose(text: str) -> Markup:
    """Text with its `code` and ``code`` spans set as code (the rest escaped)."""
    parts = _CODE.split(str(text))
    return Markup("").join(
        Markup("<code>{}</code>").format(part) if i % 2 else escape(part)
        for i, part in enumerate(parts)
    )


def fields(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows of a model's table: name, type, required, default, description."""
    required = set(schema.get("required", []))
    return [
        {
            "name": name,
            "type": type_of(prop),
            "required": name in required,
            "default": prop.get("default"),
            "description": prop.get("description", ""),
        }
        for name, prop in schema.get("properties", {}).items()
    ]


def render(doc: dict[str, Any]) -> str:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("bridge.web", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update(type_of=type_of, fields=fields, prose=prose)
    operations = [
        {"method": method, "path": path, **op}
        for path, item in doc["paths"].items()
        for method, op in item.items()
    ]
    by_tag = {
        tag["name"]: [op for op in operations if tag["name"] in op["tags"]] for tag in doc["tags"]
    }
    return env.get_template("api_docs.html").render(doc=doc, by_tag=by_tag)
