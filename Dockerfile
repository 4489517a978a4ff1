# io-bridge in a container: the io-bridge wheel in a virtualenv, and a private Asterisk 22
# built from Debian's own packages (`iobridge asterisk ensure`, as on a laptop or in CI),
# both run by `iobridge up`: started as root, it starts Asterisk as `iobridge-asterisk` and
# the service as `iobridge` (docs/admin.md, "Two users"). No compiler, test or lint tool is
# in the image. How to run it (a rooms file is required): docs/admin.md,
# "In a container".

# amd64 only: the private Asterisk is unpacked from Debian's amd64 packages and runs through
# their x86-64 loader (bridge/asterisk/install.py), so both stages are linux/amd64 (on an
# arm64 host, Docker builds and runs it under emulation).
#
# The base is pinned by digest (Debian bookworm, Python 3.11, as the project is tested): a
# tag can be pushed again, a digest cannot. The digest is the official image's
# python:3.11.11-slim-bookworm as public Dockerfiles pinned it, taken on 2026-12-06 without
# pulling (no container engine where it was written); check it before relying on it:
#   docker buildx imagetools inspect python:3.11.11-slim-bookworm
# To update, put the new tag and its digest here and rebuild. For a byte-for-byte rebuild
# of Asterisk too, pass
# --build-arg DEBIAN_MIRROR=http://snapshot.debian.org/archive/debian/20261125T000000Z
ARG BASE=python:3.11.11-slim-bookworm@sha256:081075da77b2b55c23c088251026fb69a7b2bf92471e491ff5fd75c192fd38e5

# ---- build: the wheel and its dependencies, into /opt/iobridge -------------------------
FROM --platform=linux/amd64 ${BASE} AS build
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY bridge ./bridge
COPY migrations ./migrations
COPY asterisk-config ./asterisk-config
COPY dialplan ./dialplan
COPY examples ./examples
# bridge/data-files/ holds links to the four folders above: the wheel carries their files.
RUN python -m venv /opt/iobridge \
 && /opt/iobridge/bin/pip install --no-cache-dir --disable-pip-version-check '.[postgres]' \
 && test -f /opt/iobridge/lib/python3.11/site-packages/bridge/data-files/migrations/env.py

# ---- run --------------------------------------------------------------------------------
FROM --platform=linux/amd64 ${BASE}
ARG DEBIAN_MIRROR=
# tini: PID 1 forwards SIGTERM to `iobridge up` and reaps what Asterisk leaves behind;
# espeak-ng and sox speak rooms' titles to callers called in (bridge/asterisk/title_prompts.py).
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini espeak-ng sox \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /var/lib/iobridge \
      --shell /usr/sbin/nologin iobridge \
 && useradd --system --uid 10002 --user-group --home-dir /var/lib/iobridge-asterisk \
      --shell /usr/sbin/nologin iobridge-asterisk \
 && install -d -o iobridge -g iobridge -m 0700 /var/lib/iobridge \
 && install -d -o iobridge-asterisk -g iobridge-asterisk -m 0700 /var/lib/iobridge-asterisk \
 && install -d -o iobridge-asterisk -g iobridge -m 2770 /var/lib/iobridge-recordings \
 && install -d -m 0755 /etc/iobridge
COPY --from=build /opt/iobridge /opt/iobridge

ENV PATH=/opt/iobridge/bin:$PATH \
    IOBRIDGE_STATE_DIR=/var/lib/iobridge \
    IOBRIDGE_CACHE_DIR=/opt/iobridge/cache \
    IOBRIDGE_ASTERISK_DIR=/var/lib/iobridge-asterisk \
    IOBRIDGE_RECORDINGS_DIR=/var/lib/iobridge-recordings \
    IOBRIDGE_ASTERISK_USER=iobridge-asterisk \
    IOBRIDGE_SERVICE_USER=iobridge \
    IOBRIDGE_BIND_HOST=0.0.0.0 \
    IOBRIDGE_RTP_PORT_START=20000 \
    IOBRIDGE_RTP_PORT_END=20999

# Asterisk, built once into the image (root only for this step; then read-only to everyone:
# the runtime user uses a complete, verified tree without writing to the cache; an update
# is a new image, not `iobridge asterisk ensure --refresh` inside the container).
RUN IOBRIDGE_DEBIAN_MIRROR="${DEBIAN_MIRROR}" iobridge asterisk ensure \
 && rm -rf /opt/iobridge/cache/asterisk/apt \
 && chmod -R a+rX /opt/iobridge/cache

# No USER: `up` starts as root only to start its two children, each as its own user, and
# to start them again; it listens on nothing itself.
WORKDIR /var/lib/iobridge
VOLUME ["/var/lib/iobridge", "/var/lib/iobridge-recordings"]
# SIP, the media ports (rtp.conf: IOBRIDGE_RTP_PORT_START..END above), and the panel.
EXPOSE 5060/udp 20000-20999/udp 8080/tcp

# Healthy: the service answers and is logged in to Asterisk's AMI (it finds its own
# address and token in the state folder).
HEALTHCHECK --interval=30s --timeout=10s --start-period=90s --retries=3 \
    CMD ["iobridge", "health"]

# `docker stop` sends SIGTERM: the service ends the calls in history, then Asterisk stops;
# give it the time (docker stop -t 40).
STOPSIGNAL SIGTERM
ENTRYPOINT ["tini", "--", "iobridge"]
# Refuses to start without IOBRIDGE_ROOMS_FILE: bound to 0.0.0.0, no example rooms.
CMD ["up"]
