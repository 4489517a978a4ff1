# io-bridge in a container: Debian's own Asterisk packages (sid carries Asterisk 22), the
# package in a virtualenv, and `iobridge up` bound to all interfaces.
# The install steps are the Makefile's (`make system venv`), so the image and a laptop
# are set up the same way; `iobridge asterisk ensure` then finds the system Asterisk.
FROM debian:sid-slim

ENV DEBIAN_FRONTEND=noninteractive \
    IOBRIDGE_STATE_DIR=/var/lib/iobridge \
    IOBRIDGE_BIND_HOST=0.0.0.0

RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      asterisk asterisk-modules asterisk-core-sounds-en-gsm \
      python3 python3-venv make ca-certificates \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/iobridge
COPY pyproject.toml README.md Makefile ./
COPY bridge ./bridge
COPY asterisk-config ./asterisk-config
COPY dialplan ./dialplan
COPY migrations ./migrations
COPY examples ./examples

RUN make system venv SYSTEM_PACKAGES="sip-tester" \
 && .venv/bin/iobridge asterisk ensure \
 && rm -rf /var/lib/apt/lists/*

VOLUME /var/lib/iobridge
# SIP, the media ports (rtp.conf), and the panel.
EXPOSE 5060/udp 20000-23999/udp 8080/tcp

STOPSIGNAL SIGTERM
CMD [".venv/bin/iobridge", "up", "--host", "0.0.0.0"]
