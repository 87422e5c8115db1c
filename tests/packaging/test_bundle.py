"""The PyInstaller bundle: built by packaging/build.sh in a fresh venv, then run from dist/ (slow)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtGui import QImage

import nnviz

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform == "win32", reason="build.sh is a bash script"),
    pytest.mark.skipif(
        sys.platform == "linux" and shutil.which("objdump") is None,
        reason="PyInstaller needs objdump (Debian package binutils; .ci/run installs it)",
    ),
]

ROOT = Path(__file__).resolve().parents[2]
#: What a copy of the source tree leaves out: caches, builds, and the venv CI makes at the root.
NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", "out"
)
#: The build took about 40 s on a 2-core machine; far more means something is wrong.
BUILD_TIMEOUT = 900


def _env() -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DISPLAY", "WAYLAND_DISPLAY", "PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")
    }
    env["QT_QPA_PLATFORM"] = "offscreen"
    return env


def _run(command: list, cwd: Path, timeout: float = 300, **env) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env={**_env(), **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, f"{command} failed:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    """dist/nnviz/ built by packaging/build.sh from a clean copy of the source tree, in a new venv
    that has nnviz and its dependencies but not PyInstaller (the script installs it)."""
    base = tmp_path_factory.mktemp("bundle")
    source = base / "source"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE)
    venv = base / "venv"
    _run([sys.executable, "-m", "venv", venv], base)
    _run([venv / "bin" / "python", "-m", "pip", "install", "--quiet", source], base, 600)
    build = [source / "packaging" / "build.sh", "--distpath", base / "dist"]
    build += ["--workpath", base / "work"]
    started = time.perf_counter()
    result = _run(["bash", *build], base, BUILD_TIMEOUT, PYTHON=str(venv / "bin" / "python"))
    seconds = time.perf_counter() - started
    assert "build: installing PyInstaller" in result.stdout
    print(f"bundle built in {seconds:.0f} s")  # shown with -s or on failure
    return base / "dist" / "nnviz"


def _picture(path: Path, colours: int) -> QImage:
    """The PNG at `path`, checked to hold at least `colours` colours (a blank one has one)."""
    image = QImage(str(path))
    assert not image.isNull(), f"cannot read {path}"
    pixels = image.convertToFormat(QImage.Format.Format_RGB32)
    buffer = np.frombuffer(pixels.constBits(), np.uint8)
    assert len(np.unique(buffer.reshape(-1, 4), axis=0)) > colours, f"{path.name} looks blank"
    return image


def test_bundle_holds_both_executables_and_the_icons(bundle):
    for name in ("nnviz", "nnviz-gui"):
        assert os.access(bundle / name, os.X_OK)
    resources = bundle / "_internal" / "nnviz" / "resources"
    assert (resources / "nnviz.svg").is_file()
    assert (resources / "nnviz-256.png").is_file()


def test_bundle_prints_the_version(bundle, tmp_path):
    result = _run([bundle / "nnviz", "--version"], tmp_path, 120)
    assert result.stdout.strip() == f"nnviz {nnviz.__version__}"


@pytest.mark.parametrize("executable", ["nnviz", "nnviz-gui"])
def test_bundle_trains_in_the_window_and_takes_a_screenshot(bundle, tmp_path, executable):
    """Training runs in a spawned process: the frozen executable must start it as a child."""
    shot = tmp_path / "window.png"
    command = [bundle / executable, *(["gui"] if executable == "nnviz" else [])]
    command += ["--train", "50", "--screenshot", shot, "--quit", "--window-size", "1280x800"]
    result = _run(command, tmp_path)
    assert result.stdout.startswith("trained 50 iterations")
    image = _picture(shot, 500)
    assert (image.width(), image.height()) == (1280, 800)


def test_bundle_trains_headless_and_writes_the_run_folder(bundle, tmp_path):
    out = tmp_path / "run"
    result = _run([bundle / "nnviz", "train", "--iterations", "300", "--out", out], tmp_path)
    assert "classification report" in result.stdout
    for name in ("config.json", "metrics.json", "weights.npz", "history.csv"):
        assert (out / name).is_file()
    for name in ("network", "loss", "boundary", "roc"):  # drawn offscreen by the same views
        image = _picture(out / f"{name}.png", 50)
        assert (image.width(), image.height()) == (600, 450)
        assert (out / f"{name}.svg").read_text().startswith("<?xml")
