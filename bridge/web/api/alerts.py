"""Alerts over the JSON API: send one (the message as base64 in the JSON body), list them,
and show one with each number's result. The admin may send and see any; a host of a room
those that name it (``bridge.domain.alerts.may_alert``); another's alert is a 404."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Base64Bytes, BaseModel, BeforeValidator, ConfigDict, Field

from bridge.actions.arguments import one_a_line
from bridge.domain.alerts import MAX_MESSAGE_BYTES, Alert
from bridge.domain.dialout import CallOut
from bridge.web.api.inputs import ApiRequest
from bridge.web.api.models import Inputs, RoomName
from bridge.web.bodies import read_body, read_object
from bridge.web.openapi import Operation

MAX_NUMBERS_TEXT = 256 * 1024
MAX_BODY = MAX_MESSAGE_BYTES * 4 // 3 + MAX_NUMBERS_TEXT  # the message in base64, the numbers


class AlertSend(BaseModel):
    """An alert to send: every number hears the message; with a room, then "press 1 to join
    the call now, 2 to hear this again". Each number is checked as a dial-out's (E.164, its
    trunk's prefixes, the daily cap) before any is dialled."""

    model_config = ConfigDict(extra="forbid")

    numbers: Annotated[
        list[Annotated[str, Field(max_length=200)]],
        BeforeValidator(one_a_line),
        Field(min_length=1, max_length=1000, description="one number a line, E.164, an "
              "optional name after a comma: '+15557770001, Alex'"),
    ]  # fmt: skip
    message: Base64Bytes = Field(description="the message: a WAV file, 8000 Hz, mono, 16-bit")
    room: RoomName | None = Field(None, description="the room to offer; null: the message only")
    trunk: Annotated[
        str | None,
        Field(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$", description="the trunk; null: the first "
              "whose allowed prefixes take the number"),
    ] = None  # fmt: skip
    retries: Annotated[
        int, Field(ge=0, le=5, description="more attempts for a number busy, unanswered or "
                   "failed (a number that answered is not called again)")
    ] = 1  # fmt: skip
    retry_after: Annotated[
        float, Field(ge=1, le=3600, description="seconds between a number's attempts")
    ] = 60.0


class AlertNumber(BaseModel):
    number: str = Field(description="E.164")
    name: str = Field(description="the name given with it ('' if none)")
    result: Literal[
        "queued", "ringing", "answered", "reached", "heard", "joined", "busy", "no-answer",
        "declined",
        "failed", "cancelled",
    ] = Field(description="answered: the message playing; reached: answered, gone before "
              "the message's end; heard: the message played to its end; joined: pressed 1 "
              "and is in the room")  # fmt: skip
    attempts: int
    retry_pending: bool = Field(description="not reached yet, and to be called again")
    updated_at: float


class AlertAnswer(BaseModel):
    """One alert, as ``iobridge alert show ID --json`` prints it."""

    id: str
    asked_by: str = Field(description="who sent it (the audit trail has it too)")
    asked_at: float
    room: str | None
    trunk: str | None
    seconds: float = Field(description="the message's length")
    reached: int = Field(
        description="numbers whose phone answered (answered, reached, heard or joined)"
    )
    attempts: int = Field(description="calls made, every number's attempts together")
    retries_pending: int = Field(description="numbers not reached yet to be called again")
    summary: str = Field(description="one line: '2 of 3 numbers reached in 4 calls, 1 retry "
                         "pending'")  # fmt: skip
    numbers: list[AlertNumber]


class AlertList(BaseModel):
    alerts: list[AlertAnswer] = Field(description="newest first")


class AlertPath(Inputs):
    alert_id: Annotated[str, Field(pattern=r"^alert-[0-9a-f]{12}$", description="an alert's id")]


def answer(alert: Alert, calls: list[CallOut]) -> AlertAnswer:
    return AlertAnswer.model_validate(alert.as_json(calls))


async def send(api: ApiRequest) -> AlertAnswer:
    """Send an alert (the admin; or a host of the room it names)."""
    body = read_object(*await read_body(api.request, MAX_BODY), AlertSend)
    assert isinstance(body, AlertSend)
    alert, calls = await api.service.alerts.send(
        api.principal, body.numbers, body.message, body.room, body.trunk,
        body.retries, body.retry_after,
    )  # fmt: skip
    return answer(alert, calls)


async def listed(api: ApiRequest) -> AlertList:
    """The latest alerts this token may see, newest first."""
    found = await api.service.alerts.listed(api.principal)
    return AlertList(alerts=[answer(alert, calls) for alert, calls in found])


async def show(api: ApiRequest) -> AlertAnswer:
    """One alert and what became of each of its numbers."""
    return answer(*await api.service.alerts.show(api.principal, api.path.alert_id))


async def cancel(api: ApiRequest) -> AlertAnswer:
    """Stop an alert: numbers not yet called are not called; ringing ones are hung up."""
    return answer(*await api.service.alerts.cancel(api.principal, api.path.alert_id))


OPERATIONS = [
    Operation(
        "post", "/api/v1/alerts", "send_alert", "ring numbers with a recorded message",
        "alerts", send, body=AlertSend, body_required=True, body_read_by_handler=True,
        response=AlertAnswer, errors=(400, 403, 404), description=str(AlertSend.__doc__),
    ),
    Operation(
        "get", "/api/v1/alerts", "list_alerts", "alerts, newest first", "alerts", listed,
        response=AlertList,
    ),
    Operation(
        "get", "/api/v1/alerts/{alert_id}", "show_alert", "one alert and its numbers' results",
        "alerts", show, path_params=AlertPath, response=AlertAnswer, errors=(404,),
    ),
    Operation(
        "post", "/api/v1/alerts/{alert_id}/cancel", "cancel_alert",
        "stop an alert: no more calls, ringing ones hung up", "alerts", cancel,
        path_params=AlertPath, response=AlertAnswer, errors=(403, 404),
    ),
]  # fmt: skip
