# Sourced by scripts/up and scripts/test: what `make` itself needs on a fresh Debian
# (bookworm or later), installed with apt when missing. Everything else is the Makefile's.

die() {
    echo "iobridge: $*" >&2
    exit 1
}

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null; then
        sudo "$@"
    else
        die "installing packages needs root: run this as root, or install sudo"
    fi
}

# install_missing PACKAGE...: apt-get install the Debian packages that are not installed.
install_missing() {
    local missing=() package
    for package in "$@"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" \
            || missing+=("$package")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    command -v apt-get >/dev/null || die "no apt-get here: install ${missing[*]} yourself"
    echo "installing system packages: ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

bootstrap() {
    install_missing make python3 python3-venv ca-certificates
    python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
        || die "io-bridge needs Python 3.11 or later (Debian bookworm or later)"
}
