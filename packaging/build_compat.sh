#!/usr/bin/env bash
# The packaged studio for older Linux systems: glibc 2.31 or newer (Debian 11, Ubuntu 20.04,
# RHEL/Rocky/Alma 9 and everything newer) instead of the build machine's.
#
# `make package` bundles the build machine's own Python and system libraries, so the bundle
# needs that machine's glibc (2.35 when built on Debian 12: its Python needs 2.35, and Qt from
# PySide6 6.10 on needs 2.34). This script builds the same bundle inside a Debian 11
# (bullseye, glibc 2.31) root:
#  1. debootstrap bullseye into ROOT (default /var/tmp/schedstudio-bullseye, outside the tree;
#     made once, then reused) with the build tools and the libraries Qt loads;
#  2. Python 3.11 built there into /opt/python3.11, from PYTHON_SOURCE (an upstream
#     Python-3.11.x.tgz) when given, else from the upstream tarball of Debian 12's source
#     package python3.11 (3.11.2, without Debian's patches: give PYTHON_SOURCE for a newer
#     3.11 release);
#  3. the files git tracks copied into ROOT/build/schedstudio and installed (not editable)
#     with the studio's extras into a fresh venv, PySide6 pinned by
#     packaging/compat-constraints.txt to 6.9 (wheels for glibc 2.28; 6.10 on need 2.34);
#  4. packaging/build_bundle.sh and packaging/check_bundle.sh run there with GLIBC_FLOOR=2.31
#     (the self-test runs on glibc 2.31); the bundle and its archive are copied to dist/, and
#     checked again here: its binaries, no path of this checkout, its self-test on this
#     machine's newer glibc.
# Needs root (debootstrap, chroot, mount), binutils, and a Debian mirror (MIRROR). While it
# runs, ROOT has proc, a tmpfs on /dev/shm and its own devpts mounted; they are unmounted at
# the end, whatever happens (nothing of this machine's file system is bind-mounted into it).
set -euo pipefail
cd "$(dirname "$0")/.."
here=$(pwd)
rootfs=${ROOT:-/var/tmp/schedstudio-bullseye}
mirror=${MIRROR:-http://deb.debian.org/debian}
floor=2.31
python_prefix=/opt/python3.11

if [ "$(id -u)" -ne 0 ]; then
    echo "build_compat.sh needs root (debootstrap, chroot, mount)" >&2
    exit 2
fi
command -v debootstrap >/dev/null || {
    echo "installing debootstrap"; apt-get install -y -qq debootstrap >/dev/null; }

mounted=()
cleanup() {
    for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount "${mounted[$i]}" || true; done
}
trap cleanup EXIT
mount_in_root() {  # TYPE TARGET [OPTIONS]
    mountpoint -q "$rootfs/$2" && return
    mkdir -p "$rootfs/$2"
    if mount -t "$1" ${3:+-o "$3"} "$1" "$rootfs/$2"; then mounted+=("$rootfs/$2"); fi
}
in_root() {  # a command in ROOT, with a clean environment but pip's settings of this machine
    local pass=()
    while IFS= read -r name; do pass+=("$name=${!name}"); done \
        < <(compgen -e | grep -E '^(PIP_|SSL_CERT_FILE$|REQUESTS_CA_BUNDLE$)' || true)
    chroot "$rootfs" /usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/root \
        LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "${pass[@]}" /bin/bash -c "$1"
}

if [ ! -x "$rootfs/bin/bash" ]; then
    echo "== debootstrap bullseye into $rootfs"
    debootstrap --variant=minbase bullseye "$rootfs" "$mirror" > "$rootfs.debootstrap.log" \
        || { tail -20 "$rootfs.debootstrap.log"; exit 1; }
fi
mount_in_root proc proc
mount_in_root tmpfs dev/shm mode=1777
mount_in_root devpts dev/pts newinstance,ptmxmode=0666
cp -L /etc/resolv.conf "$rootfs/etc/resolv.conf"

if [ ! -x "$rootfs$python_prefix/bin/python3.11" ]; then
    echo "== build tools and Qt's run-time libraries"
    echo "deb-src $mirror bookworm main" > "$rootfs/etc/apt/sources.list.d/python-source.list"
    in_root "apt-get update -qq && apt-get install -y -qq --no-install-recommends \
        build-essential binutils git ca-certificates xz-utils dpkg-dev \
        libssl-dev libffi-dev zlib1g-dev libbz2-dev liblzma-dev libsqlite3-dev uuid-dev \
        libglib2.0-0 libfontconfig1 libfreetype6 libpng16-16 libbrotli1 libdbus-1-3 \
        libgssapi-krb5-2 libegl1 libgl1 libopengl0 fonts-dejavu-core \
        libxkbcommon0 libxkbcommon-x11-0 libx11-6 libx11-xcb1 libxcb1 libxcb-cursor0 \
        libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0 libxcb-render-util0 \
        libxcb-render0 libxcb-shape0 libxcb-shm0 libxcb-sync1 libxcb-xfixes0 libxcb-xkb1 \
        libxcb-glx0 libxcb-util1 libwayland-client0 libwayland-cursor0 libwayland-egl1 \
        > /dev/null"
    echo "== Python 3.11 built in the root"
    rm -rf "$rootfs/src" && mkdir -p "$rootfs/src"
    if [ -n "${PYTHON_SOURCE:-}" ]; then
        cp "$PYTHON_SOURCE" "$rootfs/src/"
    else
        in_root "cd /src && apt-get source --download-only -qq python3.11 > /dev/null"
    fi
    in_root "cd /src && tarball=\$(ls Python-3.11*.t*z python3.11_*.orig.tar.* 2>/dev/null \
            | head -1) && mkdir python && tar -xf \"\$tarball\" -C python --strip-components=1 \
        && cd python && ./configure -q --prefix=$python_prefix --enable-shared \
            LDFLAGS=-Wl,-rpath,$python_prefix/lib > /dev/null \
        && make -s -j\"\$(nproc)\" > /dev/null 2>&1 && make -s install > /dev/null 2>&1 \
        && $python_prefix/bin/python3.11 -c 'import ssl, sqlite3, ctypes, lzma, bz2, zlib, uuid'"
fi

echo "== this tree, installed with the studio's extras, PySide6 from compat-constraints.txt"
# pip trusts the certificate authorities this machine does (a proxy's among them, where there
# is one); copied after apt, whose ca-certificates rewrites the root's bundle
for ca in "${PIP_CERT:-}" "${SSL_CERT_FILE:-}" /etc/ssl/certs/ca-certificates.crt; do
    if [ -n "$ca" ] && [ -f "$ca" ]; then
        mkdir -p "$rootfs$(dirname "$ca")"
        cp -L "$ca" "$rootfs$ca"
    fi
done
rm -rf "$rootfs/build/schedstudio" "$rootfs/build/venv"
mkdir -p "$rootfs/build/schedstudio"
git ls-files -z | tar --null -T - -cf - | tar -xf - -C "$rootfs/build/schedstudio"
in_root "$python_prefix/bin/python3.11 -m venv /build/venv \
    && /build/venv/bin/python -m pip install --quiet --upgrade pip \
    && cd /build/schedstudio && /build/venv/bin/python -m pip install --quiet \
        -c packaging/compat-constraints.txt '.[studio,farm]' 'pyinstaller>=6.10'"

echo "== the bundle, built and checked on glibc $(in_root 'ldd --version | head -1')"
in_root "cd /build/schedstudio && GLIBC_FLOOR=$floor packaging/build_bundle.sh /build/venv/bin \
    && GLIBC_FLOOR=$floor PYTHON=$python_prefix/bin/python3.11 packaging/check_bundle.sh"

echo "== dist/: the bundle for glibc $floor, checked on this machine too"
mkdir -p dist
rm -rf dist/schedstudio dist/schedstudio-linux.tar.gz
cp -a "$rootfs/build/schedstudio/dist/schedstudio" dist/
cp "$rootfs/build/schedstudio/dist/schedstudio-linux.tar.gz" dist/
GLIBC_FLOOR=$floor python3 packaging/check_binaries.py dist/schedstudio "$here" "$rootfs"
work=$(mktemp -d)
HOME="$work" XDG_DATA_HOME="$work/data" dist/schedstudio/schedstudio --self-test
rm -rf "$work"
echo "dist/schedstudio-linux.tar.gz: for glibc $floor or newer ($(du -sm dist/schedstudio \
    | cut -f1) MB unpacked)"
