"""The JSON API, ``/api/v1``, for scripts and the CLI.

| what | module |
| --- | --- |
| the route table, the router, the document and its page | ``bridge.web.api.routes`` |
| rooms, their live state, every action of the shared tables | ``bridge.web.api.rooms`` |
| calls, reports, the audit trail, recordings, purging a call | ``bridge.web.api.history`` |
| the push feed as Server-Sent Events | ``bridge.web.api.events`` |
| every request and answer as a pydantic model | ``bridge.web.api.models`` |
| who is asking: a moderator's token, or the local admin token | ``bridge.web.api.auth`` |
| a handler's inputs, parsed by the operation's models | ``bridge.web.api.inputs`` |
| the OpenAPI generator (route table + models -> document) | ``bridge.web.openapi`` |
"""

from bridge.web.api.routes import add_routes, api_document

__all__ = ["add_routes", "api_document"]
