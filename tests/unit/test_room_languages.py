"""A room's ``language:`` in the rooms file, and where Asterisk's prompts in each language
are found and shown to the Asterisk io-bridge starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.asterisk.sound_languages import core_sounds, installed_languages, lay_out_data_dir
from bridge.roomsfile import RoomsFileError, parse_rooms_text

ROOMS = """\
rooms:
  - name: ga-national
    pin: "424242"
  - name: asamblea
    pin: "535353"
    language: LANGUAGE
"""


def problems(language: str, installed: frozenset[str] | None = None) -> list[str]:
    with pytest.raises(RoomsFileError) as info:
        parse_rooms_text(ROOMS.replace("LANGUAGE", language), "rooms.yaml", languages=installed)
    return [str(p) for p in info.value.problems]


def test_a_room_speaks_english_unless_it_says_otherwise() -> None:
    config = parse_rooms_text(ROOMS.replace("LANGUAGE", "es"), "rooms.yaml")
    assert [room.language for room in config.rooms] == ["en", "es"]


def test_an_unknown_language_is_a_problem_on_its_line() -> None:
    assert problems("de") == [
        "rooms.yaml:6: rooms[1].language: unknown language 'de': expected one of en, es, fr"
    ]


def test_a_language_that_is_not_text_says_what_was_expected() -> None:
    assert problems("[es]") == [
        "rooms.yaml:6: rooms[1].language: must be a language code: en, es, fr, got a list"
    ]


def test_a_language_whose_asterisk_prompts_are_missing_names_the_package_to_install() -> None:
    assert problems("fr", frozenset({"en", "es"})) == [
        "rooms.yaml:6: rooms[1].language: Asterisk's French prompts are not installed: "
        "install Debian's package asterisk-core-sounds-fr-gsm "
        "(apt-get install asterisk-core-sounds-fr-gsm)"
    ]


def test_an_installed_language_passes_the_check() -> None:
    config = parse_rooms_text(
        ROOMS.replace("LANGUAGE", "fr"), "rooms.yaml", languages=frozenset({"en", "fr"})
    )
    assert config.rooms[1].language == "fr"


def debian_sounds(root: Path, voice: str) -> Path:
    folder = root / "sounds" / voice
    folder.mkdir(parents=True)
    (folder / "conf-getpin.gsm").write_bytes(b"gsm")
    return folder


def test_a_languages_prompts_are_found_in_the_folder_debian_names_after_its_voice(
    tmp_path: Path,
) -> None:
    spanish = debian_sounds(tmp_path / "system", "es_MX_f_Allison")
    assert core_sounds("es", [tmp_path / "tree", tmp_path / "system"]) == spanish
    assert core_sounds("fr", [tmp_path / "tree", tmp_path / "system"]) is None
    assert installed_languages([tmp_path / "system"]) == {"en", "es"}


def test_the_data_folder_shows_the_trees_data_and_each_language_under_its_code(
    tmp_path: Path,
) -> None:
    tree = tmp_path / "tree"
    english = debian_sounds(tree, "en_US_f_Allison")
    (tree / "sounds" / "en").symlink_to("en_US_f_Allison")
    (tree / "moh").mkdir()
    (tmp_path / "run").mkdir()
    data = lay_out_data_dir(tmp_path / "run" / "data", tree)
    assert (data / "moh").resolve() == (tree / "moh").resolve()
    assert (data / "sounds" / "en" / "conf-getpin.gsm").resolve() == english / "conf-getpin.gsm"
    assert (data / "sounds" / "en_US_f_Allison" / "conf-getpin.gsm").is_file()
    # Laid out again (every start): the same, nothing left over from before.
    (tree / "moh").rmdir()
    data = lay_out_data_dir(tmp_path / "run" / "data", tree)
    assert not (data / "moh").exists()
    assert (data / "sounds" / "en" / "conf-getpin.gsm").is_file()


def test_asterisk_prompts_a_languages_package_lacks_come_from_io_bridges_own(
    tmp_path: Path,
) -> None:
    tree = tmp_path / "tree"
    debian_sounds(tree, "es")
    own = tmp_path / "sounds" / "es"
    own.mkdir(parents=True)
    (own / "asterisk-prompts.txt").write_text("# lacking\nconf-full | La conferencia...\n")
    (own / "conf-full.wav").write_bytes(b"RIFF")
    (own / "hand-raised.wav").write_bytes(b"RIFF")  # io-bridge's own: played by its path
    (tmp_path / "run").mkdir()
    spanish = lay_out_data_dir(tmp_path / "run" / "data", tree, tmp_path / "sounds") / "sounds/es"
    assert sorted(p.name for p in spanish.iterdir()) == ["conf-full.wav", "conf-getpin.gsm"]
