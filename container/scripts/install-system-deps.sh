#!/usr/bin/env bash
# Installs what the converter needs from Debian's packages: LibreOffice (UNO bridge for the system python3),
# metric-compatible and wide-coverage fonts, poppler-utils (pdfinfo, pdftoppm), bubblewrap (the sandbox every
# document is converted in, where the kernel allows user namespaces), and tini (the image's init: it reaps
# LibreOffice processes orphaned by a kill).
# LibreOffice comes as the full app packages, not the -nogui ones: those ship no module .ui files, and even
# headless Writer builds some windows from them — a .docx with comments, loaded Hidden, needs
# modules/swriter/ui/annotation.ui and soffice aborts without it. The full set replaces an installed -nogui one.
# One script for the container image, CI and local set-up, so CI exercises the image's install steps.
# Usage: install-system-deps.sh [extra Debian packages…]
set -euo pipefail

packages=(
  # libreoffice-draw comes with impress anyway; naming it lets apt replace an installed draw-nogui.
  libreoffice-writer libreoffice-calc libreoffice-impress libreoffice-draw python3-uno
  # Math (2.2 MB): Writer renders a .docx's OMML equations through it (they vanish without it).
  libreoffice-math
  fonts-liberation2 fonts-crosextra-carlito fonts-crosextra-caladea fonts-dejavu fonts-noto-core
  fonts-noto-cjk fonts-noto-extra fonts-noto-ui-core fonts-noto-color-emoji fonts-opensymbol
  poppler-utils fontconfig
  bubblewrap
  tini
  # Extra packages from the caller (scripts/setup.sh adds what only the tests need).
  "$@"
)

# Proof that the UI files are there (the -nogui packages leave this directory empty).
ui_probe=/usr/lib/libreoffice/share/config/soffice.cfg/modules/swriter/ui/annotation.ui

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ] && [ -f "$ui_probe" ]; then
  echo "system dependencies already installed"
  exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# Installing libreoffice-writer & co. removes the conflicting -nogui packages.
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
$SUDO fc-cache -f >/dev/null 2>&1 || true
if [ ! -f "$ui_probe" ]; then
  echo "LibreOffice's UI files are missing ($ui_probe): is a -nogui package still installed?" >&2
  exit 1
fi
echo "installed: ${missing[*]}"
