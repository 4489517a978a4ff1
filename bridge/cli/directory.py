"""``iobridge directory``: the directory of known numbers (a caller whose number is in it
is labelled "name, place" when they join). ``import FILE.csv`` adds or replaces numbers
from a CSV file, all or nothing; the rooms file's ``directory:`` is the other way in."""

from __future__ import annotations

from pathlib import Path

import click

from bridge.cli.base import fail, main, migrated, run, settings


@main.group("directory")
def directory_group() -> None:
    """Known numbers, each with a name and a place (docs/admin.md, "Known numbers")."""


@directory_group.command("import")
@click.argument("file", type=click.Path(path_type=Path))
def directory_import(file: Path) -> None:
    """Add the numbers of a CSV file (number,name,place) to the directory."""
    from bridge.roomsfile.known_callers_csv import read_directory_csv
    from bridge.store.db import Database
    from bridge.store.known_callers import IMPORTED, store_known

    try:
        text = file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"{file}: cannot read the file: {getattr(exc, 'strerror', None) or exc}")
    known, problems = read_directory_csv(text, str(file))
    if problems:
        for problem in problems:
            click.echo(str(problem), err=True)
        fail(f"{file}: nothing imported ({len(problems)} problem(s))")
    if not known:
        fail(f"{file}: no numbers in it; expected lines of number,name,place")

    async def apply() -> list[str]:
        database = Database(await migrated(settings()))
        try:
            async with database.sessions() as session, session.begin():
                added, changed, _ = await store_known(session, known, IMPORTED, replace=False)
            return [f"+ {what}" for what in added] + [f"~ {what}" for what in changed]
        finally:
            await database.dispose()

    for line in run(apply()) or ["nothing to change"]:
        click.echo(line)
    click.echo(f"{file}: OK ({len(known)} known numbers)")
