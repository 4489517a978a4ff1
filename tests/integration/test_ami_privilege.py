"""The service's AMI user holds no "system" class: whoever steals its secret cannot add
dialplan, load modules or run commands, and recording still works (through the recorder
participant, which leaves by itself when the room empties)."""

from __future__ import annotations

import pytest

from bridge.asterisk import recorder
from bridge.errors import ActionRefused, AlreadyRecording
from bridge.service import BridgeService
from bridge.settings import Settings
from tests.integration.conftest import Dial
from tests.support import AmiWatcher, event, eventually, is_recording, roster_rows

ROOM, PIN = "e2e-recorder", "4747#"

REFUSED = [
    {
        "Action": "DialplanExtensionAdd",
        "Context": "iobridge-entry",
        "Extension": "666",
        "Priority": "1",
        "Application": "System",
        "ApplicationData": "touch /tmp/iobridge-pwned",
    },
    {"Action": "ModuleLoad", "Module": "app_system.so", "LoadType": "load"},
    {"Action": "Command", "Command": "dialplan show"},
    {"Action": "UpdateConfig", "SrcFilename": "extensions.conf", "DstFilename": "x.conf"},
    {"Action": "ConfbridgeStartRecord", "Conference": ROOM, "RecordFile": "/tmp/x.wav"},
]


@pytest.mark.parametrize("action", REFUSED, ids=lambda a: a["Action"])
async def test_the_service_ami_user_may_not_change_or_command_asterisk(
    service: BridgeService, action: dict[str, str]
) -> None:
    with pytest.raises(ActionRefused, match="Permission denied"):
        await service.ami.send(action)


@pytest.mark.parametrize(
    ("application", "data"),
    [
        ("System", "touch /tmp/iobridge-pwned"),
        ("MixMonitor", "/tmp/x.wav"),
        ("AGI", "x"),
        ("Set", "FILE(/tmp/iobridge-pwned)=x"),
    ],
)
async def test_originate_may_not_run_what_only_system_may(
    service: BridgeService, application: str, data: str
) -> None:
    action = {
        "Action": "Originate",
        "Channel": "Local/s@iobridge-entry",
        "Application": application,
        "Data": data,
    }
    with pytest.raises(ActionRefused, match="Forbidden"):
        await service.ami.send(action)


@pytest.mark.parametrize(
    "name", ["nobody-here-20261126-101010", "e2e-recorder,,x-20261126-1010", "x-1"]
)
async def test_the_recorder_refuses_a_room_that_is_not_live_or_a_name_that_is_no_slug(
    service: BridgeService, name: str
) -> None:
    with pytest.raises(ActionRefused, match="Originate failed"):
        await service.ami.send(recorder.start_action(name))


async def test_a_recording_ends_by_itself_when_the_last_caller_leaves(
    ami: AmiWatcher, dial: Dial, service: BridgeService, runtime_settings: Settings
) -> None:
    mark = ami.mark()
    caller = await dial(PIN, audio=True, stay=60)
    await ami.wait_for(event("ConfbridgeJoin", Conference=ROOM), since=mark)
    await service.roster.wait_until(lambda: roster_rows(service.switchboard, ROOM) != [])
    path = await service.moderation.start_recording(ROOM)
    await service.roster.wait_until(lambda: is_recording(service.switchboard, ROOM))
    people = [p["channel"] for p in roster_rows(service.switchboard, ROOM)]
    assert len(people) == 1 and people[0].startswith("PJSIP/")  # the recorder is no one
    with pytest.raises(AlreadyRecording):
        await service.moderation.start_recording(ROOM)
    # A second recorder sent past the service's own check is refused by the dialplan.
    with pytest.raises(ActionRefused, match="Originate failed"):
        await service.ami.send(recorder.start_action(f"{ROOM}-20261126-000000"))
    await eventually(lambda: path.exists() and path.stat().st_size > 16000)
    await caller.hangup()
    # The recorder sees it is alone, leaves, and the room ends as it would without it.
    await ami.wait_for(event("ConfbridgeEnd", Conference=ROOM), since=mark, timeout=15)
    assert not is_recording(service.switchboard, ROOM)
    assert not (runtime_settings.recordings_dir / f"{ROOM}-20261126-000000.wav").exists()
