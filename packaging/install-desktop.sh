#!/usr/bin/env bash
# Add nnviz to a Linux desktop's application menu: the launcher, the AppStream metadata and the
# icons, installed for the current user under ${XDG_DATA_HOME:-~/.local/share}.
#
#   packaging/install-desktop.sh                          # launches nnviz-gui found on PATH
#   packaging/install-desktop.sh --exec dist/nnviz/nnviz-gui   # launches the bundle
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
id=io.github.nnviz.nnviz
data=${XDG_DATA_HOME:-$HOME/.local/share}

executable=""
if [ "${1:-}" = "--exec" ] && [ -n "${2:-}" ]; then
  executable=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
elif [ $# -gt 0 ]; then
  echo "usage: $0 [--exec PATH/TO/nnviz-gui]" >&2
  exit 2
else
  executable=$(command -v nnviz-gui || true)
fi
if [ -z "$executable" ] || [ ! -x "$executable" ]; then
  echo "install-desktop: no nnviz-gui found; pip install nnviz first, or pass --exec PATH" >&2
  exit 1
fi

# The launcher runs this executable by its absolute path (quoted in Exec, so spaces work): a
# venv's bin/ is rarely on the desktop session's PATH.
escaped=$(printf '%s' "$executable" | sed -e 's/[\\|&]/\\&/g')
mkdir -p "$data/applications" "$data/metainfo"
sed -e "s|^Exec=nnviz-gui|Exec=\"$escaped\"|" -e "s|^TryExec=nnviz-gui|TryExec=$escaped|" \
  "$root/resources/$id.desktop" > "$data/applications/$id.desktop"
cp "$root/resources/$id.metainfo.xml" "$data/metainfo/"
for folder in "$root"/resources/icons/hicolor/*/apps; do
  size=$(basename "$(dirname "$folder")")
  mkdir -p "$data/icons/hicolor/$size/apps"
  cp "$folder/$id.png" "$data/icons/hicolor/$size/apps/"
done
mkdir -p "$data/icons/hicolor/scalable/apps"
cp "$root/resources/$id.svg" "$data/icons/hicolor/scalable/apps/"

if command -v update-desktop-database >/dev/null; then
  update-desktop-database -q "$data/applications" || true
fi
if command -v gtk-update-icon-cache >/dev/null; then
  gtk-update-icon-cache -q -t "$data/icons/hicolor" || true
fi
echo "install-desktop: nnviz added to the application menu ($executable)"
