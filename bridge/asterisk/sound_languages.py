"""Where Asterisk finds its core prompts in each language, and the data folder that shows
them all to the Asterisk io-bridge runs.

Debian installs each language's prompts into a folder named after its voice
(``/usr/share/asterisk/sounds/es_MX_f_Allison``), while Asterisk looks for a language by its
code (``sounds/es``). The private Asterisk's tree has English (``asterisk-core-sounds-en-gsm``,
and the ``en`` link the build adds); other languages come from the system's packages
(``apt-get install asterisk-core-sounds-es-gsm``), found wherever they are. The Asterisk io-bridge
starts reads its data through a folder of links in its run folder (``astdatadir``): the
tree's (or the system's) data, its sounds, and each language's prompts under its code.
Nothing in the shared tree or the system's folders is changed.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from bridge.domain.languages import DEFAULT_LANGUAGE, LANGUAGES
from bridge.settings import Settings

SYSTEM_DATA_DIR = Path("/usr/share/asterisk")
MARKER = "conf-getpin"  # a core prompt every language's package has (the PIN prompt)


def core_sounds(code: str, data_dirs: list[Path]) -> Path | None:
    """The folder of Asterisk's core prompts in language ``code``, or None."""
    for data_dir in data_dirs:
        for name in (code, LANGUAGES[code].voice):
            folder = data_dir / "sounds" / name
            if folder.is_dir() and any(folder.glob(f"{MARKER}.*")):
                return folder
    return None


def data_dirs_of(settings: Settings, install_data_dir: Path | None = None) -> list[Path]:
    """Where to look for core prompts: the Asterisk's own data folder (the private tree's in
    the cache when none is given), then the system's."""
    own = install_data_dir or settings.cache_dir / "asterisk/tree/usr/share/asterisk"
    return [own] if own == SYSTEM_DATA_DIR else [own, SYSTEM_DATA_DIR]


def installed_languages(data_dirs: list[Path]) -> frozenset[str]:
    """The languages whose core prompts are installed; English always is, as the private
    Asterisk's own packages (``install.PACKAGES``) bring it."""
    found = {code for code in LANGUAGES if core_sounds(code, data_dirs) is not None}
    return frozenset(found | {DEFAULT_LANGUAGE})


def lay_out_data_dir(target: Path, install_data_dir: Path) -> Path:
    """Make ``target`` Asterisk's data folder: links to everything in ``install_data_dir``,
    and in ``sounds/`` links to its sounds plus each installed language under its code.
    Rebuilt whole on every start (only links: nothing is lost)."""
    staging = target.with_name(target.name + ".new")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(mode=0o755)
    entries = sorted(install_data_dir.iterdir()) if install_data_dir.is_dir() else []
    for entry in entries:
        if entry.name != "sounds":
            (staging / entry.name).symlink_to(entry)
    sounds = staging / "sounds"
    sounds.mkdir(mode=0o755)
    if (install_data_dir / "sounds").is_dir():
        for entry in sorted((install_data_dir / "sounds").iterdir()):
            (sounds / entry.name).symlink_to(entry)
    data_dirs = [install_data_dir, SYSTEM_DATA_DIR]
    for code in LANGUAGES:
        found = core_sounds(code, data_dirs)
        if found is not None and not (sounds / code).exists():
            (sounds / code).symlink_to(found)
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return target
