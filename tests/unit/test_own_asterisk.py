"""What ``iobridge asterisk config --for-existing`` writes for an admin's own Asterisk: the
parts of the same rendering the private Asterisk gets, without what is the admin's, and what
serve's check at start makes of the AMI actions it may send."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from bridge.asterisk.ami_events import EVENTS_READ
from bridge.asterisk.config_files import (
    context_names,
    inline_globals,
    render,
    sections,
    template_values,
    without_sections,
)
from bridge.asterisk.own_asterisk import write_config_for_existing
from bridge.asterisk.readiness import CONTEXTS, missing_actions
from bridge.cli import main
from bridge.settings import Settings

DIALPLAN = """; comment before
[general]
static = yes

[globals]
IOBRIDGE_AGI = agi://127.0.0.1:4573
; IGNORED = no

[iobridge-keys]
exten => _[a-z]!,1,AGI(${IOBRIDGE_AGI}/keys,${EXTEN})
"""


def test_sections_keep_every_line_under_its_header() -> None:
    found = sections(DIALPLAN)
    assert [s.name for s in found] == ["", "general", "globals", "iobridge-keys"]
    assert "".join(s.text for s in found) == DIALPLAN


def test_the_admins_sections_are_left_out() -> None:
    assert without_sections(DIALPLAN, {"general", "globals"}).startswith("[iobridge-keys]\n")


def test_the_dialplans_globals_are_written_where_the_contexts_use_them() -> None:
    assert inline_globals(DIALPLAN) == (
        "[iobridge-keys]\nexten => _[a-z]!,1,AGI(agi://127.0.0.1:4573/keys,${EXTEN})\n"
    )


@pytest.fixture
def written(tmp_path: Path) -> tuple[Settings, Path]:
    settings = Settings(state_dir=tmp_path / "state", agi_port=4999, ami_port=5999)
    write_config_for_existing(settings, tmp_path / "out")
    return settings, tmp_path / "out"


def test_the_dialplan_file_has_every_context_and_none_of_the_admins_sections(
    written: tuple[Settings, Path],
) -> None:
    settings, out = written
    text = (out / "iobridge-extensions.conf").read_text()
    names = [s.name for s in sections(text) if s.name]
    assert names == list(CONTEXTS)
    assert "${IOBRIDGE_AGI}" not in text
    secret = settings.ensure_agi_secret().get_secret_value()  # the FastAGI secret leads
    assert f"AGI(agi://127.0.0.1:4999/{secret}/keys," in text
    assert stat.S_IMODE((out / "iobridge-extensions.conf").stat().st_mode) == 0o600


def test_the_check_at_start_asks_for_the_contexts_the_dialplan_defines() -> None:
    settings = Settings()
    dialplan = render(settings.dialplan_dir / "extensions.conf", template_values(settings))
    assert context_names(dialplan) == list(CONTEXTS)


def test_the_manager_file_is_the_ami_user_alone_with_its_event_filters(
    written: tuple[Settings, Path],
) -> None:
    settings, out = written
    text = (out / "iobridge-manager.conf").read_text()
    assert [s.name for s in sections(text) if s.name] == [settings.ami_username]
    assert f"secret = {settings.ensure_ami_secret().get_secret_value()}" in text
    for name in EVENTS_READ:
        assert f"eventfilter(action(include),name({name})) =" in text
    assert "port =" not in text


def test_the_confbridge_file_has_the_profiles_and_menus_and_no_general(
    written: tuple[Settings, Path],
) -> None:
    _, out = written
    names = [s.name for s in sections((out / "iobridge-confbridge.conf").read_text()) if s.name]
    assert "general" not in names
    assert {"iobridge_room", "iobridge_participant_menu", "iobridge_recorder"} <= set(names)


def test_the_optional_pjsip_file_is_the_anonymous_endpoint_alone(
    written: tuple[Settings, Path],
) -> None:
    _, out = written
    text = (out / "iobridge-pjsip.conf").read_text()
    assert [s.name for s in sections(text) if s.name] == ["anonymous"]


def test_every_file_is_private_the_prompts_are_copied_and_the_readme_names_each_include(
    written: tuple[Settings, Path],
) -> None:
    _, out = written
    readme = (out / "README.md").read_text()
    for name in ("confbridge", "extensions", "manager", "pjsip"):
        path = out / f"iobridge-{name}.conf"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert f'#include "{path}"' in readme
    assert (out / "sounds" / "en" / "hand-raised.wav").is_file()
    assert f"IOBRIDGE_ASTERISK_SOUNDS_DIR={out / 'sounds'}" in readme


ALL_ACTIONS = {"ConfbridgeList", "ConfbridgeMute", "ConfbridgeKick", "Originate", "StopMixMonitor"}


def test_an_asterisk_with_every_action_lacks_nothing() -> None:
    assert missing_actions(ALL_ACTIONS, "iobridge") == []


def test_without_confbridges_actions_the_service_refuses_to_start() -> None:
    (missing,) = missing_actions(ALL_ACTIONS - {"ConfbridgeList"}, "iobridge")
    assert missing.refuses
    assert missing.line.startswith("app_confbridge.so is not loaded")


def test_without_originate_the_service_starts_and_says_what_will_fail() -> None:
    (missing,) = missing_actions(ALL_ACTIONS - {"Originate"}, "iobridge")
    assert not missing.refuses
    assert "write = originate" in missing.line


def test_the_command_refuses_a_folder_in_a_folder_that_does_not_exist(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["asterisk", "config", "--for-existing", str(tmp_path / "nowhere" / "out")]
    )
    assert result.exit_code == 1
    assert result.output.strip() == f"iobridge: {tmp_path / 'nowhere'}: no such folder"
