#!/usr/bin/env bash
# Build nnviz's one-folder bundle with PyInstaller: dist/nnviz/ holding `nnviz` (console: --version,
# train, gui) and `nnviz-gui` (the window, no console on Windows/macOS), sharing one _internal/.
#
#   packaging/build.sh                      # builds dist/nnviz/ from this source tree
#   packaging/build.sh --distpath DIR --workpath DIR   # other arguments go to PyInstaller
#
# Run it in the environment that has nnviz's dependencies (an activated venv with `pip install -e .`,
# or PYTHON=/path/to/python). PyInstaller is installed into that environment if it is missing.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-python3}

if [ "$(uname -s)" = Linux ] && ! command -v objdump >/dev/null; then
  echo "build: PyInstaller needs objdump and objcopy: install binutils (apt-get install binutils)" >&2
  exit 1
fi
if ! "$python" -c "import PyInstaller" >/dev/null 2>&1; then
  echo "build: installing PyInstaller into $("$python" -c 'import sys; print(sys.prefix)')"
  "$python" -m pip install --quiet "pyinstaller>=6.10,<7"
fi
if ! (cd "$root" && "$python" -c "import nnviz.gui.app, nnviz.gui.plots") >/dev/null 2>&1; then
  echo "build: nnviz's dependencies are missing from this environment; run: pip install -e ." >&2
  exit 1
fi

cd "$root"
started=$SECONDS
"$python" -m PyInstaller --noconfirm --log-level WARN "$@" packaging/nnviz.spec
echo "build: bundle built in $((SECONDS - started)) s"
