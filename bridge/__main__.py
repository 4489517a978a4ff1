"""``python -m bridge``: the ``iobridge`` command (``up`` starts its service this way)."""

from bridge.cli import main

main(prog_name="iobridge")
