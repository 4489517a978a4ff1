"""The OpenAPI 3.1 document, generated from the API's route table and its pydantic models:
never written by hand, so it cannot drift from what the handlers parse and answer.

An ``Operation`` says everything the document needs: method and path, the models of the
path parameters, the query, the body and the answer, other media types the answer may
take (CSV, WAV), and the error statuses it may give. The router is built from the same
operations (``bridge.web.api.routes``), and a handler receives its inputs already parsed
by those models, so what the document promises is what the code does.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

Method = Literal["get", "post"]
REF = "#/components/schemas/{model}"

# What each error status means here; every operation lists those it can give.
ERROR_MEANINGS: dict[int, str] = {
    400: "a path parameter, the query or the body is not what this operation takes",
    401: "no bearer token, or one that is unknown, revoked or expired (WWW-Authenticate)",
    403: "the token's moderator may not moderate this room",
    404: "no such room, call, recording or action",
    409: "well formed, but Asterisk or the rules refuse it now",
    503: "Asterisk is not reachable",
}


@dataclass(frozen=True)
class Operation:
    method: Method
    path: str  # aiohttp and OpenAPI agree on "{name}" for path parameters
    operation_id: str
    summary: str
    tag: str
    handler: Callable[..., Awaitable[Any]] = field(repr=False)
    description: str = ""
    path_params: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    body_required: bool = False  # an action without arguments takes no body, or {}
    body_read_by_handler: bool = False  # documented here, read by the actions' door
    response: type[BaseModel] | None = None  # the JSON of a 200
    other_media: Mapping[str, str] = field(default_factory=dict)  # media type -> what it is
    errors: tuple[int, ...] = ()
    public: bool = False  # no token needed (the document and its page)


def document(
    operations: Iterable[Operation],
    *,
    title: str,
    version: str,
    description: str,
    error_model: type[BaseModel],
) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``operations``."""
    operations = list(operations)
    refs, components = _schemas(operations, error_model)
    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        paths.setdefault(op.path, {})[op.method] = _operation(op, refs, components, error_model)
    tags = list(dict.fromkeys(op.tag for op in operations))
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version, "description": description},
        "tags": [{"name": tag} for tag in tags],
        "paths": paths,
        "components": {
            "schemas": dict(sorted(components.items())),
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "a moderator's token (iobridge tokens create)",
                }
            },
        },
        "security": [{"bearer": []}],
    }


Refs = dict[tuple[Any, JsonSchemaMode], dict[str, Any]]


def _schemas(
    operations: list[Operation], error_model: type[BaseModel]
) -> tuple[Refs, dict[str, Any]]:
    """Every model's schema at once, so shared parts (enums, nested models) are defined
    once under components; requests in validation mode, answers in serialization mode."""
    wanted: list[tuple[type[BaseModel], JsonSchemaMode]] = [(error_model, "serialization")]
    for op in operations:
        wanted += [(m, "validation") for m in (op.path_params, op.query, op.body) if m]
        wanted += [(op.response, "serialization")] if op.response else []
    refs, top = models_json_schema(list(dict.fromkeys(wanted)), ref_template=REF)
    return refs, dict(top.get("$defs", {}))


def _definition(ref: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    name = str(ref["$ref"]).rsplit("/", 1)[-1]
    found: dict[str, Any] = components[name]
    return found


def _parameters(
    model: type[BaseModel] | None, where: str, refs: Refs, components: dict[str, Any]
) -> list[dict[str, Any]]:
    """A path or query model as OpenAPI parameters, one per field."""
    if model is None:
        return []
    schema = _definition(refs[(model, "validation")], components)
    required = set(schema.get("required", []))
    found = []
    for name, prop in schema.get("properties", {}).items():
        prop = dict(prop)
        description = prop.pop("description", "")
        prop.pop("title", None)
        parameter: dict[str, Any] = {
            "name": name,
            "in": where,
            "required": where == "path" or name in required,
            "schema": prop,
        }
        if description:
            parameter["description"] = description
        found.append(parameter)
    return found


def _operation(
    op: Operation, refs: Refs, components: dict[str, Any], error_model: type[BaseModel]
) -> dict[str, Any]:
    described: dict[str, Any] = {
        "operationId": op.operation_id,
        "summary": op.summary,
        "tags": [op.tag],
    }
    if op.description:
        described["description"] = op.description
    parameters = _parameters(op.path_params, "path", refs, components)
    parameters += _parameters(op.query, "query", refs, components)
    if parameters:
        described["parameters"] = parameters
    if op.body is not None:
        described["requestBody"] = {
            "required": op.body_required,
            "content": {"application/json": {"schema": refs[(op.body, "validation")]}},
        }
    described["responses"] = _responses(op, refs, error_model)
    if op.public:
        described["security"] = []
    return described


def _responses(op: Operation, refs: Refs, error_model: type[BaseModel]) -> dict[str, Any]:
    content: dict[str, Any] = {}
    if op.response is not None:
        content["application/json"] = {"schema": refs[(op.response, "serialization")]}
    for media, what in op.other_media.items():
        content[media] = {"schema": {"type": "string", "description": what}}
    answers: dict[str, Any] = {"200": {"description": op.summary, "content": content}}
    error = {"application/json": {"schema": refs[(error_model, "serialization")]}}
    statuses = set(op.errors) | ({400} if op.path_params or op.query or op.body else set())
    if not op.public:
        statuses.add(401)
    for status in sorted(statuses):
        answer: dict[str, Any] = {"description": ERROR_MEANINGS[status], "content": error}
        if status == 401:
            answer["headers"] = {
                "WWW-Authenticate": {
                    "required": True,
                    "description": 'Bearer realm="io-bridge"',
                    "schema": {"type": "string"},
                }
            }
        answers[str(status)] = answer
    return answers
