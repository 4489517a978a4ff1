"""What an Asterisk of the admin's own needs for io-bridge (``iobridge asterisk config
--for-existing DIR``): files to ``#include`` into its confbridge.conf, extensions.conf and
manager.conf (and, optionally, pjsip.conf), cut from the very rendering the private Asterisk
gets (``config_files``), io-bridge's prompts, and a README saying where each goes.

What is left out is the admin's: each file's ``[general]``, the dialplan's ``[globals]``
(io-bridge's AGI address is written into its contexts instead), and every SIP transport.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from bridge.asterisk.config_files import (
    context_names,
    inline_globals,
    render,
    sections,
    template_values,
    templates,
    without_sections,
)
from bridge.settings import PRIVATE_FILE, Settings

# Modules the files use, beyond Asterisk's core: an Asterisk without one of them takes the
# files without a word and fails on the first caller who needs it.
NEEDED_MODULES = (
    ("app_confbridge.so", "ConfBridge, its profiles and menus, CONFBRIDGE_INFO"),
    ("res_agi.so", "AGI: the PIN dialogue and the keypad's keys reach io-bridge"),
    ("pbx_config.so", "extensions.conf and its #include"),
    ("app_chanspy.so", "ChanSpy: what a speaker alone hears (whispers)"),
    ("app_mixmonitor.so", "MixMonitor: recordings"),
    ("app_playback.so", "Playback: prompts"),
    ("app_stack.so", "Gosub, Return, LOCAL: a whisper waits for its spy"),
    ("app_while.so", "While, EndWhile: a whisper waits for its spy"),
    ("func_groupcount.so", "GROUP, GROUP_COUNT: one recorder per room"),
    ("func_strings.so", "FILTER, LEN: room names checked in the dialplan"),
    ("func_channel.so", "CHANNEL: the caller's address for the PIN guard"),
    ("func_callerid.so", "CALLERID"),
    ("format_wav.so", "io-bridge's prompts (WAV)"),
)


@dataclass(frozen=True)
class IncludeFile:
    template: str  # the template it is cut from
    name: str  # the file written into DIR
    into: str  # the admin's file that #includes it
    reload: str  # the CLI command that makes Asterisk read it
    optional: bool = False


INCLUDES = (
    IncludeFile(
        "confbridge.conf",
        "iobridge-confbridge.conf",
        "confbridge.conf",
        "module reload app_confbridge.so",
    ),
    IncludeFile(
        "extensions.conf", "iobridge-extensions.conf", "extensions.conf", "dialplan reload"
    ),
    IncludeFile("manager.conf", "iobridge-manager.conf", "manager.conf", "manager reload"),
    IncludeFile(
        "pjsip.conf",
        "iobridge-pjsip.conf",
        "pjsip.conf",
        "module reload res_pjsip.so",
        optional=True,
    ),
)


def cut(include: IncludeFile, text: str) -> str:
    """The part of a rendered file that an existing Asterisk takes from io-bridge."""
    if include.template == "extensions.conf":
        return inline_globals(text)
    if include.template == "pjsip.conf":
        # Only the shared number's endpoint; the transports and [global] are the admin's.
        return "".join(s.text for s in sections(text) if s.name == "anonymous")
    return without_sections(text, {"general"})


def write_config_for_existing(settings: Settings, folder: Path) -> list[Path]:
    """Write the files, the prompts and the README into ``folder``; return what was written.
    The files are private (manager's holds the AMI secret)."""
    folder = folder.expanduser().resolve()
    folder.mkdir(parents=True, exist_ok=True)
    values = template_values(settings)
    by_name = {template.name: template for template in templates(settings)}
    written = []
    for include in INCLUDES:
        text = cut(include, render(by_name[include.template], values))
        header = (
            f"; io-bridge for an Asterisk of your own: #include this at the end of your "
            f"{include.into}\n; (written by `iobridge asterisk config --for-existing`; "
            f"see README.md beside it).\n\n"
        )
        written.append(_write_private(folder / include.name, header + text))
    sounds = folder / "sounds"
    shutil.copytree(settings.config_dir / "sounds", sounds, dirs_exist_ok=True)
    written.append(sounds)
    contexts = context_names(render(by_name["extensions.conf"], values))
    written.append(_write_private(folder / "README.md", readme(settings, folder, contexts)))
    return written


def _write_private(path: Path, text: str) -> Path:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    os.fchmod(fd, PRIVATE_FILE)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    return path


def readme(settings: Settings, folder: Path, contexts: list[str]) -> str:
    lines = [
        "# io-bridge for your own Asterisk",
        "",
        "Written by `iobridge asterisk config --for-existing`, for Asterisk 20 or later on the",
        "same machine as io-bridge (the AMI user and the AGI address are on 127.0.0.1). Write",
        "these files again after an io-bridge update, and after changing IOBRIDGE_AMI_PORT,",
        "IOBRIDGE_AGI_PORT, IOBRIDGE_ENTRY_EXTENSION or the AMI secret.",
        "",
        "## 1. Include the files",
        "",
        "The files are mode 0600 (the manager file holds io-bridge's AMI secret): give them to",
        "Asterisk's user (`chown asterisk: *.conf` here) and keep them 0600. Add each line at",
        "the END of the file named (in /etc/asterisk/), then run the reload command in",
        "`asterisk -rx`:",
        "",
        "| add to | this line | then |",
        "| --- | --- | --- |",
    ]
    for include in INCLUDES:
        optional = " (optional, see 3.)" if include.optional else ""
        lines.append(
            f'| {include.into}{optional} | `#include "{folder / include.name}"` | '
            f"`{include.reload}` |"
        )
    lines += [
        "",
        f"- {INCLUDES[0].name}: the ConfBridge profiles and keypad menus (iobridge_*).",
        f"- {INCLUDES[1].name}: the dialplan contexts {', '.join(contexts)}.",
        f"- {INCLUDES[2].name}: the AMI user `{settings.ami_username}`, with the event classes",
        "  and event filters io-bridge reads. It goes after your [general]: manager.conf",
        f"  must have `enabled = yes` and listen on 127.0.0.1 port {settings.ami_port}",
        "  (IOBRIDGE_AMI_PORT); `timestampevents = yes` gives io-bridge Asterisk's own times.",
        "",
        "## 2. The modules and the prompts",
        "",
        "These modules must be loaded (`module show like NAME`); modules.conf with",
        "`autoload = yes` loads them all:",
        "",
        *(f"- {name}: {purpose}" for name, purpose in NEEDED_MODULES),
        "",
        f"io-bridge's prompts are in {folder / 'sounds'}. Asterisk plays them by their path, so",
        "its user must be able to read them there (or copy them where it can) and io-bridge",
        "must be told where they are:",
        "",
        f"    IOBRIDGE_ASTERISK_SOUNDS_DIR={folder / 'sounds'}",
        "",
        "Recordings are written by Asterisk into",
        f"{settings.recordings_dir} (io-bridge lists them from there): Asterisk's user must be",
        "able to write there, e.g. run io-bridge as the same user as Asterisk.",
        "",
        "## 3. The shared number",
        "",
        f"Callers reach io-bridge in the context iobridge-entry (any extension; "
        f"{settings.entry_extension} is",
        "the shared number's). From your own dialplan:",
        "",
        f"    exten => 7000,1,Goto(iobridge-entry,{settings.entry_extension},1)",
        "",
        f"or set `context = iobridge-entry` on a trunk's endpoint. {INCLUDES[3].name} (optional)",
        "adds the anonymous endpoint io-bridge itself uses: any SIP caller your transports let in",
        "lands in iobridge-entry. Include it only if that is what you want, and add `anonymous`",
        "to endpoint_identifier_order in your [global].",
        "",
        "## 4. Check",
        "",
        "`iobridge serve` checks at start that this Asterisk has what io-bridge needs, and names",
        'what is missing, one line each (docs/admin.md, "Your own Asterisk").',
        "",
    ]
    return "\n".join(lines)
