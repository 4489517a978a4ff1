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


def lay_out_data_dir(target: Path, install_data_dir: Path, own_sounds: Path | None = None) -> Path:
    """Make ``target`` Asterisk's data folder: links to everything in ``install_data_dir``,
    and in ``sounds/`` links to its sounds plus a folder for each installed language under
    its code, holding links to the package's prompts and to those of Asterisk's prompts the
    package lacks that io-bridge renders itself (``own_sounds/<code>/asterisk-prompts.txt``).
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
        fill_ins = _fill_ins(own_sounds / code) if own_sounds is not None else []
        if found is None:
            continue
        if (sounds / code).is_symlink():
            (sounds / code).unlink()  # the tree's own link (en): made a folder like the others
        folder = sounds / code
        folder.mkdir(mode=0o755)
        for entry in sorted(found.iterdir()):
            (folder / entry.name).symlink_to(entry)
        for wav in fill_ins:
            if not any(folder.glob(f"{wav.stem}.*")):
                (folder / wav.name).symlink_to(wav)
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return target


def _fill_ins(folder: Path) -> list[Path]:
    """The WAVs of the Asterisk prompts ``folder/asterisk-prompts.txt`` lists."""
    listing = folder / "asterisk-prompts.txt"
    if not listing.is_file():
        return []
    names = [
        line.partition("|")[0].strip()
        for line in listing.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    return [folder / f"{name}.wav" for name in names if (folder / f"{name}.wav").is_file()]
