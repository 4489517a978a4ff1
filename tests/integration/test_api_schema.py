"""schemathesis against the generated OpenAPI document, on the session's real stack, with
the token of a real moderator (tests/data/rooms-e2e.yaml's ``tester``, every room): for
every operation, requests built from the document (valid ones, and invalid ones that must
be refused with a 4xx), each answer checked: no server error, a status, content type,
headers and body as the document says.

A few examples per operation keep it well under a minute. Random room names match no
room of the e2e file, so nothing here acts on another test's call; small call numbers
are real calls of this session, so real reports are checked against their schema too.
"""

from __future__ import annotations

import asyncio
from typing import Any

import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from bridge.service import BridgeService
from bridge.settings import Settings

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
EXAMPLES = 6  # per operation and mode
# Not sent here, and why: the push feed streams for as long as the client reads (its
# requests, answers and rights are tested in tests/adapters/test_push_feed.py); a valid
# purge would delete another test's call (its refusals are still checked).
NOT_SENT = {"events": list(GenerationMode), "purge_call": [GenerationMode.POSITIVE]}


def run_schemathesis(base_url: str, token: str) -> tuple[list[str], int]:
    """Every operation of the document, each in both modes; the failures, and how many
    requests were made."""
    schema = schemathesis.openapi.from_url(f"{base_url}/api/v1/openapi.json")
    failures: list[str] = []
    sent: list[int] = []
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {token}"
        for result in schema.get_all_operations():
            operation = result.ok()
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                if mode in NOT_SENT.get(operation.definition.raw.get("operationId", ""), ()):
                    continue
                checks = CHECKS + ([negative_data_rejection] if mode.is_negative else [])
                strategy = operation.as_strategy(generation_mode=mode)
                try:
                    _examples(strategy, base_url, session, checks, sent)()
                except Unsatisfiable:
                    assert mode.is_negative  # no invalid input exists (no parameters, no token)
                except Exception as exc:  # one line per failing operation, all reported
                    failures.append(f"{operation.label} ({mode.value}): {exc}")
    return failures, len(sent)


def _examples(
    strategy: Any, base_url: str, session: requests.Session, checks: list[Any], sent: list[int]
) -> Any:
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def check(case: Any) -> None:
        sent.append(1)
        case.call_and_validate(base_url=base_url, session=session, checks=checks)

    return check


async def test_the_api_answers_as_its_generated_document_says(
    service: BridgeService, runtime_settings: Settings
) -> None:
    token = (await service.tokens.create("tester", expires_days=1)).token
    base_url = f"http://127.0.0.1:{runtime_settings.http_port}"
    failures, sent = await asyncio.wait_for(
        asyncio.to_thread(run_schemathesis, base_url, token), timeout=120
    )
    print(f"schemathesis: {sent} requests")  # reported, not asserted
    assert not failures, "\n\n".join(failures)
    assert sent > 100
