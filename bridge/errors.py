"""The failures a user sees, in their words, each with what it means over HTTP.

Adapters raise these (the AMI client turns Asterisk's error texts into them); the web
middleware maps them to answers in one place; the CLI prints their message. Nothing here
knows about Asterisk, aiohttp or the database.
"""

from __future__ import annotations

import difflib
from typing import ClassVar


class BridgeError(Exception):
    """A failure a moderator or admin can read and act on."""

    status: ClassVar[int] = 500  # the HTTP status that says what this means
    code: ClassVar[str] = "error"  # a stable, machine-readable name for scripts


class NoSuchRoom(BridgeError):
    status = 404
    code = "no_such_room"

    def __init__(self, room: str, detail: str = "nobody is in it") -> None:
        super().__init__(f"no live room '{room}' ({detail})")
        self.room = room


class NoSuchParticipant(BridgeError):
    status = 404
    code = "no_such_participant"

    def __init__(self, room: str, channel: str) -> None:
        super().__init__(f"'{channel}' is not in room '{room}' (any more)")
        self.room = room
        self.channel = channel


class PbxUnavailable(BridgeError):
    status = 503
    code = "pbx_unavailable"

    def __init__(self, detail: str = "not connected to Asterisk") -> None:
        super().__init__(f"the PBX is unavailable: {detail}")


class Stopping(BridgeError):
    status = 503
    code = "stopping"

    def __init__(self) -> None:
        super().__init__("the service is stopping; try again once it is back")


class PbxUnconfirmed(PbxUnavailable):
    """An action reached Asterisk but its answer never came (too late, or the link dropped
    with it in flight): Asterisk may have carried it out, or not. For most actions that is
    just unavailable; an Originate may be ringing someone now."""


class BadField(BridgeError):
    """A value the bridge will not pass on: malformed, or one that would break out of
    the protocol line it goes into."""

    status = 400
    code = "bad_field"


class ActionRefused(BridgeError):
    """The action is well formed but cannot be done now (Asterisk or the rules said no)."""

    status = 409
    code = "action_refused"


class AlreadyRecording(ActionRefused):
    code = "already_recording"

    def __init__(self, room: str) -> None:
        super().__init__(f"room '{room}' is already being recorded")


class NotRecording(ActionRefused):
    code = "not_recording"

    def __init__(self, room: str) -> None:
        super().__init__(f"room '{room}' is not being recorded")


# ---- who may do what (the panel's login, the API's tokens) -------------------------------


class NotLoggedIn(BridgeError):
    status = 401
    code = "not_logged_in"

    def __init__(self, detail: str = "log in first") -> None:
        super().__init__(detail)


class LoginRefused(NotLoggedIn):
    """One message for a wrong username and a wrong password: which one is never said."""

    code = "login_refused"

    def __init__(self) -> None:
        super().__init__("Wrong username or password.")


class TooManyLogins(BridgeError):
    status = 429
    code = "too_many_logins"

    def __init__(self, retry_after: float) -> None:
        minutes = max(1, round(retry_after / 60))
        super().__init__(
            f"Too many failed logins. Try again in {minutes} minute{'s' if minutes > 1 else ''}."
        )
        self.retry_after = retry_after


class LoginsBusy(BridgeError):
    """More logins waiting for their password check than the service queues (each check
    costs 64 MiB): this one is not checked, and counts as no failure."""

    status = 429
    code = "logins_busy"

    def __init__(self) -> None:
        super().__init__("The panel is checking many logins at once. Try again in a moment.")


class BodyTooSlow(BridgeError):
    """A request body that did not arrive in time (a client dribbling it holds a slot)."""

    status = 408
    code = "body_too_slow"

    def __init__(self, seconds: float) -> None:
        super().__init__(f"the request body did not arrive within {seconds:g} seconds")


class BadToken(NotLoggedIn):
    """A bearer token the API does not accept; which of the reasons is not said."""

    code = "invalid_token"

    def __init__(self) -> None:
        super().__init__("the token is unknown, revoked or expired, or its moderator is gone")


class NotAllowed(BridgeError):
    """Logged in, but this is not theirs to do (a room not granted, a forged request)."""

    status = 403
    code = "not_allowed"


class UnknownAction(BridgeError):
    status = 404
    code = "unknown_action"

    def __init__(self, name: str, expected: list[str]) -> None:
        super().__init__(f"unknown action '{name}'; expected one of {', '.join(expected)}")


class NoSuchCue(BridgeError):
    status = 404
    code = "no_such_cue"

    def __init__(self, name: str, known: list[str]) -> None:
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        super().__init__(f"no cue named '{name}' (cues: {', '.join(known)}){hint}")
        self.name = name


class NoSuchCall(BridgeError):
    status = 404
    code = "no_such_call"

    def __init__(self, call_id: int) -> None:
        super().__init__(f"no call {call_id} in the history")
        self.call_id = call_id


class NoSuchModerator(BridgeError):
    status = 404
    code = "no_such_moderator"

    def __init__(self, username: str) -> None:
        super().__init__(f"no moderator '{username}' (moderators come from the rooms file)")


class NoSuchToken(BridgeError):
    status = 404
    code = "no_such_token"

    def __init__(self, token_id: int) -> None:
        super().__init__(f"no API token {token_id} (see: iobridge tokens list)")


class NoSuchRecording(BridgeError):
    status = 404
    code = "no_such_recording"

    def __init__(self, name: str) -> None:
        super().__init__(f"no recording '{name}'")


class StartupError(Exception):
    """The stack or the service cannot start; the message is one line that names the cause
    and what to do (the CLI prints it as it is)."""


class DialOutRefused(BridgeError):
    """A dial-out refused before anything was dialled: a malformed number, one outside its
    trunk's allowed prefixes, an unknown trunk, the daily cap (the message says which)."""

    status = 400
    code = "dialout_refused"


class RoomSpansNodes(ActionRefused):
    """A big room spread over several nodes: its breakout groups could not hear each
    other's members across nodes (docs/admin.md, "Big rooms")."""

    code = "room_spans_nodes"

    def __init__(self, room: str, nodes: list[str]) -> None:
        super().__init__(
            f"room '{room}' is spread over nodes {', '.join(nodes)}: breakout groups need "
            f"every caller on one node (fewer than max_callers_per_node)"
        )


class NoSuchNode(BridgeError):
    status = 404
    code = "no_such_node"

    def __init__(self, node: str, known: list[str]) -> None:
        among = ", ".join(known) if known else "none: this io-bridge drives one Asterisk"
        super().__init__(f"no node '{node}' (the nodes file's: {among})")
        self.node = node


class NoRecordedName(BridgeError):
    status = 404
    code = "no_recorded_name"

    def __init__(self, room: str, channel: str) -> None:
        super().__init__(f"'{channel}' in room '{room}' said no name (or has left)")


class AlertRefused(BridgeError):
    """An alert refused before anything was dialled: its message is not a WAV Asterisk
    plays as it is, or one of its numbers is refused as a dial-out's would be."""

    status = 400
    code = "alert_refused"


class NoSuchAlert(BridgeError):
    status = 404
    code = "no_such_alert"

    def __init__(self, alert_id: str) -> None:
        super().__init__(f"no alert '{alert_id}'")
