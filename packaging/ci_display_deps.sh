#!/usr/bin/env bash
# What the real-display tests need (tests/app/xdisplay.py): Xvfb, the openbox window manager,
# xdotool for real input, xprop, ImageMagick for screenshots, and the libraries Qt's xcb
# platform plugin loads; and Chromium, in which the cook report's test renders the page.
# Installed with apt-get only when missing and when root; otherwise it says what is missing
# and those tests skip, saying why.
set -euo pipefail

tools=(Xvfb openbox xdotool xprop import chromium)
packages=(xvfb openbox xdotool x11-utils imagemagick libxcb-icccm4 libxcb-keysyms1
          libxcb-cursor0 libxcb-image0 libxcb-render-util0 libxcb-xkb1 libxkbcommon-x11-0
          libxcb-shape0 libxcb-randr0 libxcb-xinerama0 chromium)

missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
        || missing+=("$package")
done
if ! command -v dpkg-query >/dev/null; then
    for tool in "${tools[@]}"; do
        command -v "$tool" >/dev/null || missing+=("$tool")
    done
fi
if [ ${#missing[@]} -eq 0 ]; then
    echo "real-display test dependencies: all present"
    exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
    echo "real-display tests will skip: missing ${missing[*]} (install them as root with apt-get)"
    exit 0
fi
echo "installing for the real-display tests: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
if ! { apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null; }; then
    echo "could not install ${missing[*]}: the real-display tests will skip"
fi
