"""The languages a caller may hear: a room's ``language:``, the shared number's choice.

Each language needs two sets of sounds: Asterisk's core prompts (the PIN prompt, numbers,
goodbye), from Debian's package for that language, and io-bridge's own prompts
(``asterisk-config/sounds/<code>/``, rendered by scripts/make-prompts). Asterisk picks both
by the channel's language (``CHANNEL(language)``): a prompt named ``.../sounds/hand-raised``
is looked for in ``.../sounds/es/hand-raised`` first for a Spanish channel.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_LANGUAGE = "en"


@dataclass(frozen=True)
class Language:
    code: str  # Asterisk's language: CHANNEL(language), the sounds folder's name
    name: str  # in English, for the admin's messages
    package: str  # Debian's package of Asterisk's core prompts in this language
    voice: str  # the folder that package installs under .../asterisk/sounds/
    speech: str  # espeak-ng's voice: io-bridge's prompts and rooms' titles (scripts/make-prompts)


LANGUAGES: dict[str, Language] = {
    language.code: language
    for language in (
        Language("en", "English", "asterisk-core-sounds-en-gsm", "en_US_f_Allison", "en-us"),
        Language("es", "Spanish", "asterisk-core-sounds-es-gsm", "es_MX_f_Allison", "es-419"),
        Language("fr", "French", "asterisk-core-sounds-fr-gsm", "fr_CA_f_June", "fr-fr"),
    )
}


def unknown_language(code: str) -> str | None:
    """Why ``code`` is no language here, or None when it is one."""
    if code in LANGUAGES:
        return None
    return f"unknown language {code!r}: expected one of {', '.join(LANGUAGES)}"


def missing_sounds(code: str) -> str:
    """What to do when Asterisk's core prompts for ``code`` are not installed."""
    language = LANGUAGES[code]
    return (
        f"Asterisk's {language.name} prompts are not installed: install Debian's package "
        f"{language.package} (apt-get install {language.package})"
    )


def entry_languages_problem(codes: tuple[str, ...]) -> str | None:
    """Why ``codes`` cannot be the shared number's choice of languages, or None."""
    for code in codes:
        if (problem := unknown_language(code)) is not None:
            return problem
    if len(set(codes)) != len(codes):
        return f"a language is listed twice: {', '.join(codes)}"
    if len(codes) > 9:
        return "at most 9 languages: one key each"
    return None
