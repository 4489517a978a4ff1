"""The OpenAPI generator: a route table and its models in, an OpenAPI 3.1 document out; and
the API's own document is generated from the very table the router is built from."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from bridge.actions import ROOM_ACTIONS, STACK_ACTIONS
from bridge.web.api import api_document
from bridge.web.api.docs import prose, render, type_of
from bridge.web.api.routes import OPERATIONS, add_routes
from bridge.web.openapi import Operation, document


class Colour(StrEnum):
    RED = "red"
    BLUE = "blue"


class ThingPath(BaseModel):
    thing: Annotated[str, Field(pattern=r"^[a-z]+$", description="a thing's name")]


class ThingQuery(BaseModel):
    limit: Annotated[int, Field(ge=1, le=10)] = 5
    colour: Colour | None = None


class Paint(BaseModel):
    model_config = ConfigDict(extra="forbid")
    colour: Colour


class Thing(BaseModel):
    name: str
    colour: Colour
    size: float | None = Field(description="null: unknown")


class Failure(BaseModel):
    message: str


async def handler(request: Any) -> Any:
    raise AssertionError("never called: the generator only reads the table")


TABLE = [
    Operation(
        "get", "/things/{thing}", "show_thing", "one thing", "things", handler,
        path_params=ThingPath, query=ThingQuery, response=Thing, errors=(404,),
    ),
    Operation(
        "post", "/things/{thing}/paint", "paint_thing", "paint it", "things", handler,
        path_params=ThingPath, body=Paint, body_required=True, response=Thing,
        other_media={"text/csv": "as CSV"}, errors=(403, 404),
    ),
    Operation("get", "/spec", "spec", "the document", "meta", handler, public=True,
              other_media={"application/json": "it"}),
]  # fmt: skip


def generated() -> dict[str, Any]:
    return document(TABLE, title="t", version="9", description="d", error_model=Failure)


def test_the_document_is_openapi_3_1_with_every_operation_of_the_table() -> None:
    doc = generated()
    assert doc["openapi"] == "3.1.0" and doc["info"]["version"] == "9"
    assert set(doc["paths"]) == {"/things/{thing}", "/things/{thing}/paint", "/spec"}
    assert doc["paths"]["/things/{thing}"]["get"]["operationId"] == "show_thing"
    assert [t["name"] for t in doc["tags"]] == ["things", "meta"]
    assert doc["security"] == [{"bearer": []}]
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


def test_path_and_query_models_become_parameters_with_their_constraints() -> None:
    parameters = generated()["paths"]["/things/{thing}"]["get"]["parameters"]
    by_name = {p["name"]: p for p in parameters}
    assert by_name["thing"] == {
        "name": "thing", "in": "path", "required": True,
        "schema": {"pattern": "^[a-z]+$", "type": "string"}, "description": "a thing's name",
    }  # fmt: skip
    assert by_name["limit"]["in"] == "query" and by_name["limit"]["required"] is False
    assert by_name["limit"]["schema"] == {
        "default": 5, "maximum": 10, "minimum": 1, "type": "integer"
    }  # fmt: skip
    colour = by_name["colour"]["schema"]["anyOf"]
    assert {"$ref": "#/components/schemas/Colour"} in colour and {"type": "null"} in colour


def test_bodies_and_answers_refer_to_shared_schemas_defined_once() -> None:
    doc = generated()
    paint = doc["paths"]["/things/{thing}/paint"]["post"]
    body = paint["requestBody"]
    assert body["required"] is True
    assert body["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Paint"}
    ok = paint["responses"]["200"]["content"]
    assert ok["application/json"]["schema"] == {"$ref": "#/components/schemas/Thing"}
    assert ok["text/csv"]["schema"]["type"] == "string"
    schemas = doc["components"]["schemas"]
    assert schemas["Colour"] == {"enum": ["red", "blue"], "title": "Colour", "type": "string"}
    assert schemas["Paint"]["additionalProperties"] is False
    assert "ThingPath" in schemas  # parameters' models are there too, for reference
    assert set(schemas["Thing"]["required"]) == {"name", "colour", "size"}  # answers: all there


def test_every_error_is_the_error_model_and_a_401_carries_its_challenge() -> None:
    doc = generated()
    answers = doc["paths"]["/things/{thing}/paint"]["post"]["responses"]
    assert set(answers) == {"200", "400", "401", "403", "404"}  # 400: it takes inputs
    for status in ("400", "401", "403", "404"):
        schema = answers[status]["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/Failure"}
    assert answers["401"]["headers"]["WWW-Authenticate"]["required"] is True
    public = doc["paths"]["/spec"]["get"]
    assert public["security"] == [] and set(public["responses"]) == {"200"}


def test_the_apis_document_comes_from_the_table_the_router_is_built_from() -> None:
    app = web.Application()
    add_routes(app.router)
    routed = {
        (route.method.lower(), route.resource.canonical)
        for route in app.router.routes()
        if route.resource is not None and route.name  # the table's routes are named
    }
    doc = api_document()
    documented = {(method, path) for path, item in doc["paths"].items() for method in item}
    assert routed == documented == {(op.method, op.path) for op in OPERATIONS}


def test_every_action_of_the_shared_tables_has_its_own_route_and_body() -> None:
    paths = api_document()["paths"]
    for prefix, table in (("actions", ROOM_ACTIONS), ("stack", STACK_ACTIONS)):
        for name, action in table.items():
            post = paths[f"/api/v1/rooms/{{room}}/{prefix}/{name}"]["post"]
            schema = post["requestBody"]["content"]["application/json"]["schema"]
            assert schema == {"$ref": f"#/components/schemas/{action.arguments.__name__}"}
            assert post["summary"] == action.summary
            assert post["requestBody"]["required"] is bool(action.argument_names)
    channel = api_document()["components"]["schemas"]["OnParticipant"]["properties"]["channel"]
    assert channel["pattern"].startswith("^[A-Za-z0-9]")


def test_every_api_operation_needs_a_token_but_the_document_and_its_page() -> None:
    for path, item in api_document()["paths"].items():
        for operation in item.values():
            public = operation.get("security") == []
            assert public == (path in ("/api/v1/openapi.json", "/api/v1/docs")), path
            assert ("401" in operation["responses"]) is not public


def test_the_page_shows_each_operation_and_each_schema_as_a_table() -> None:
    page = render(generated())
    assert 'id="op-paint_thing"' in page and 'id="schema-Thing"' in page
    assert '<a href="#schema-Paint">Paint</a>' in page
    assert "<code>red</code> | <code>blue</code>" in page
    assert "integer (1 to 10)" in page and "No other fields are accepted." in page


def test_a_schema_reads_in_a_few_words() -> None:
    assert type_of({"type": "array", "items": {"$ref": "#/components/schemas/X"}}) == (
        'list of <a href="#schema-X">X</a>'
    )
    assert type_of({"anyOf": [{"type": "number"}, {"type": "null"}]}) == "number or null"
    assert type_of({"type": "string", "format": "date-time"}) == "string (date-time)"
    assert type_of({"type": "string", "pattern": "<b>"}) == (
        "string matching <code>&lt;b&gt;</code>"
    )


def test_code_in_descriptions_reads_as_code_and_the_rest_is_escaped() -> None:
    assert prose("send `Authorization: Bearer` or ``live: false`` <b>") == (
        "send <code>Authorization: Bearer</code> or <code>live: false</code> &lt;b&gt;"
    )
