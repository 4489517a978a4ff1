"""The image as the Dockerfile declares it: a base pinned by digest, and the media ports it
publishes are the ones it configures Asterisk with."""

from __future__ import annotations

import re
from pathlib import Path

DOCKERFILE = (Path(__file__).resolve().parents[2] / "Dockerfile").read_text()


def test_the_base_image_is_pinned_by_digest_for_amd64() -> None:
    base = re.search(r"^ARG BASE=(\S+)$", DOCKERFILE, flags=re.M)
    assert base is not None
    assert re.fullmatch(r"python:3\.11[\w.-]*-slim-bookworm@sha256:[0-9a-f]{64}", base.group(1))
    froms = re.findall(r"^FROM (.*)$", DOCKERFILE, flags=re.M)
    assert froms and all(line.startswith("--platform=linux/amd64 ${BASE}") for line in froms)


def test_the_exposed_media_ports_are_the_configured_rtp_range() -> None:
    start = re.search(r"IOBRIDGE_RTP_PORT_START=(\d+)", DOCKERFILE)
    end = re.search(r"IOBRIDGE_RTP_PORT_END=(\d+)", DOCKERFILE)
    expose = re.search(r"^EXPOSE (.*)$", DOCKERFILE, flags=re.M)
    assert start and end and expose
    assert f"{start.group(1)}-{end.group(1)}/udp" in expose.group(1).split()
