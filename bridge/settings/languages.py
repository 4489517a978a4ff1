"""The shared number's choice of languages before the PIN (``IOBRIDGE_ENTRY_LANGUAGES``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator

from bridge.domain.languages import entry_languages_problem


def _checked(codes: tuple[str, ...]) -> tuple[str, ...]:
    if (problem := entry_languages_problem(codes)) is not None:
        raise ValueError(problem)
    return codes


# JSON in the environment: IOBRIDGE_ENTRY_LANGUAGES='["en", "es", "fr"]'
EntryLanguages = Annotated[tuple[str, ...], AfterValidator(_checked)]
