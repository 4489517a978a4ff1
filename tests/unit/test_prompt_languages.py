"""Every language has every prompt a caller may hear: io-bridge's own (each language's
prompts.txt and its WAVs, the names the dialplan and the service play) and, where the
language's Debian package is installed here, Asterisk's core prompts the service plays."""

from __future__ import annotations

import re
import wave
from pathlib import Path

import pytest

from bridge.asterisk import alert, keypad, pin_dialogue
from bridge.asterisk.sound_languages import SYSTEM_DATA_DIR, core_sounds
from bridge.domain.cues import BUILT_IN
from bridge.domain.languages import LANGUAGES
from bridge.service.stack_io import WHISPERS

ROOT = Path(__file__).resolve().parents[2]
SOUNDS = ROOT / "asterisk-config" / "sounds"
DIALPLAN = ROOT / "dialplan"
CACHED_TREE = Path.home() / ".cache/iobridge/asterisk/tree/usr/share/asterisk"


def listed(language: str, list_name: str = "prompts.txt") -> dict[str, str]:
    """A language's prompts.txt (or another list of it): name -> words."""
    found = {}
    path = SOUNDS / language / list_name
    for line in path.read_text().splitlines() if path.exists() else []:
        if line.strip() and not line.startswith("#"):
            name, _, words = line.partition("|")
            found[name.strip()] = words.strip()
    return found


def played_by_the_dialplan() -> set[str]:
    """io-bridge's prompts the dialplan plays: Playback/Background of {{ sounds_dir }}/NAME."""
    text = "".join(p.read_text() for p in DIALPLAN.glob("*.conf"))
    return set(re.findall(r"(?:Playback|Background)\(\{\{ sounds_dir \}\}/([a-z0-9-]+)", text))


def played_by_the_service() -> set[str]:
    names = set(keypad.PROMPTS.values()) | set(WHISPERS.values())
    names |= {pin_dialogue.LANGUAGE_CHOICE, alert.OFFER_CALL, *alert.OFFER_ROOM}
    return names | {
        cue.file for cue in BUILT_IN.values() if not (SOUNDS / f"{cue.file}.wav").exists()
    }


def test_the_dialplan_and_the_service_play_prompts_found_by_this_test() -> None:
    assert {"breakout-you-are-in-group", "breakout-you-are-in-a-group"} <= played_by_the_dialplan()
    assert {"hand-raised", "you-have-the-floor", "cue-starting"} <= played_by_the_service()


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_each_language_lists_and_has_every_prompt_that_is_played(language: str) -> None:
    names = listed(language)
    wanted = played_by_the_dialplan() | played_by_the_service()
    assert wanted - set(names) == set(), f"{language}/prompts.txt lacks these"
    assert set(names) == set(listed("en")), "every language has the same prompts as English"
    for name, words in names.items():
        assert words, f"{language}/{name}: no words"
        with wave.open(str(SOUNDS / language / f"{name}.wav")) as audio:
            assert (audio.getframerate(), audio.getnchannels(), audio.getsampwidth()) == (
                8000,
                1,
                2,
            )
            assert audio.getnframes() > 8000 * 0.3, f"{language}/{name}.wav is too short for words"


def test_language_neutral_sounds_are_tones_outside_the_language_folders() -> None:
    neutral = {path.stem for path in SOUNDS.glob("*.wav")}
    assert neutral == {"cue-chime", "cue-hold-music"}
    assert neutral.isdisjoint(listed("en"))


CORE_PROMPTS = {
    pin_dialogue.PIN_PROMPT,
    pin_dialogue.GOODBYE,
    *(p for prompts in pin_dialogue.REFUSAL_PROMPTS.values() for p in prompts),
    pin_dialogue.ONE_MOMENT,
    "conf-now-recording",  # the announcer (dialplan)
    *(f"digits/{n}" for n in range(10)),  # places and counts, said by SayNumber
}


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_each_installed_language_has_the_asterisk_prompts_the_service_plays(
    language: str,
) -> None:
    folder = core_sounds(language, [CACHED_TREE, SYSTEM_DATA_DIR])
    if folder is None:
        pytest.skip(f"{LANGUAGES[language].package} is not installed here")
    # What Debian's package lacks, io-bridge renders itself (asterisk-prompts.txt), and the
    # data folder shows it among the package's (sound_languages.lay_out_data_dir).
    own = listed(language, "asterisk-prompts.txt")
    for name in own:
        assert (SOUNDS / language / f"{name}.wav").exists()
    missing = {name for name in CORE_PROMPTS if not any(folder.glob(f"{name}.*"))}
    assert missing - set(own) == set()
