"""The bare-dialplan baseline: the same rooms, the PIN checked by Asterisk's dialplan alone.

Rendered for the benchmark only, from the same rooms file the bridge loads, and appended to
the bench's copy of the shipped dialplan: a caller dialling ``BARE_EXTENSION`` instead of the
shared number hears the same prompt, types the same PIN and joins the same ConfBridge room
with the same profiles and menu as the bridge would give them (``Admission`` picks both), and
the same quiet rule for big rooms, read from ConfBridge itself. No FastAGI, no database, no
lockouts: the floor the bridge's brain is measured against.
"""

from __future__ import annotations

from bridge.domain.entry import QUIET_FROM_PARTICIPANTS, Admission
from bridge.domain.events import Role
from bridge.domain.rooms import RoomsConfig, RoomSpec

BARE_EXTENSION = "2000"
ENTRY_CONTEXT = "iobridge-entry"
BARE_CONTEXT = "iobridge-bench-bare"
PINS_CONTEXT = "iobridge-bench-bare-pins"


def _room_lines(room: RoomSpec, pin: str, role: Role) -> list[str]:
    admission = Admission(room, role)
    options = ",".join(
        [
            "CONFBRIDGE(bridge,template)=iobridge_room",
            f"CONFBRIDGE(bridge,max_members)={room.max_participants}",
            f"CONFBRIDGE(user,template)={admission.user_profile}",
            f"CONFBRIDGE(user,startmuted)={'yes' if admission.start_muted else 'no'}",
        ]
    )
    lines = [
        f"exten => {pin},1,NoOp({room.name} as {role})",
        f" same => n,MSet({options})",
    ]
    names = "Set(CONFBRIDGE(user,announce_join_leave)=yes)" if room.announce_names else ""
    if role is Role.PARTICIPANT:
        # As the bridge does (QUIET_FROM_PARTICIPANTS): quiet in a big room, else names.
        parties = f"0${{CONFBRIDGE_INFO(parties,{room.name})}}"
        lines.append(
            f" same => n,ExecIf($[{parties} >= {QUIET_FROM_PARTICIPANTS}]"
            f"?Set(CONFBRIDGE(user,quiet)=yes){':' + names if names else ''})"
        )
    elif names:
        lines.append(f" same => n,{names}")
    lines += [f" same => n,ConfBridge({room.name},,,{admission.menu})", " same => n,Hangup()"]
    return lines


def render_bare_dialplan(config: RoomsConfig, extension: str = BARE_EXTENSION) -> str:
    out = [
        "",
        "; ---- io-bridge benchmark only: the bare-dialplan baseline (bench/bare_dialplan.py) ----",
        f"[{ENTRY_CONTEXT}](+)",
        f"exten => {extension},1,Goto({BARE_CONTEXT},s,1)",
        "",
        f"[{BARE_CONTEXT}]",
        "exten => s,1,Answer()",
        " same => n,Wait(0.5)",
        " same => n,Read(PIN,conf-getpin,12,,1,8)",
        f' same => n,GotoIf($["${{PIN}}" != "" & ${{DIALPLAN_EXISTS({PINS_CONTEXT},${{PIN}},1)}}]'
        f"?{PINS_CONTEXT},${{PIN}},1)",
        " same => n,Playback(conf-invalidpin)",
        " same => n,Hangup()",
        "",
        f"[{PINS_CONTEXT}]",
    ]
    for room in config.rooms:
        out += _room_lines(room, room.pin, Role.PARTICIPANT)
        if room.moderator_pin:
            out += _room_lines(room, room.moderator_pin, Role.MODERATOR)
    return "\n".join(out) + "\n"
