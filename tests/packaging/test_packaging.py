"""Packaging: desktop metadata and icons (fast), and the wheel installed into a fresh venv (slow)."""

from __future__ import annotations

import configparser
import importlib.metadata
import os
import shutil
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtGui import QImage, QImageReader

import nnviz
from nnviz.gui.app import APP_ID, app_icon

ROOT = Path(__file__).resolve().parents[2]
RESOURCES = ROOT / "resources"
PACKAGE_RESOURCES = ROOT / "nnviz" / "resources"
DESKTOP = RESOURCES / f"{APP_ID}.desktop"
METAINFO = RESOURCES / f"{APP_ID}.metainfo.xml"
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
#: What a copy of the source tree leaves out: caches, builds, and the venv CI makes at the root.
NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", "out"
)


def _commands() -> dict[str, set[str]]:
    """The installed nnviz's commands by group: console_scripts and gui_scripts."""
    commands: dict[str, set[str]] = {"console_scripts": set(), "gui_scripts": set()}
    for entry in importlib.metadata.distribution("nnviz").entry_points:
        commands.setdefault(entry.group, set()).add(entry.name)
    return commands


def _desktop_entry() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, delimiters=("=",))
    parser.optionxform = str  # keys are case-sensitive
    parser.read(DESKTOP, encoding="utf-8")
    return parser["Desktop Entry"]


def _image(path: Path) -> QImage:
    image = QImage(str(path))
    assert not image.isNull(), f"cannot read {path}"
    return image


def _colours(image: QImage) -> int:
    image = image.convertToFormat(QImage.Format.Format_RGBA8888)
    width, height = image.width(), image.height()
    buffer = np.frombuffer(image.constBits(), np.uint8).reshape(height, image.bytesPerLine())
    pixels = buffer[:, : width * 4].reshape(-1, 4)
    return len(np.unique(pixels, axis=0))


# -- desktop metadata ----------------------------------------------------------------------------


def test_desktop_file_passes_desktop_file_validate():
    tool = shutil.which("desktop-file-validate")
    if tool is None:
        pytest.skip("desktop-file-validate is not installed (Debian package desktop-file-utils)")
    result = subprocess.run([tool, str(DESKTOP)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout + result.stderr == "", "no errors, warnings or hints"


def test_metainfo_passes_appstreamcli_validate():
    tool = shutil.which("appstreamcli")
    if tool is None:
        pytest.skip("appstreamcli is not installed (Debian package appstream)")
    result = subprocess.run(
        [tool, "validate", "--no-net", "--no-color", str(METAINFO)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Validation was successful" in result.stdout
    assert "E:" not in result.stdout and "W:" not in result.stdout


def test_desktop_file_and_metainfo_share_the_apps_id():
    entry = _desktop_entry()
    root = ET.parse(METAINFO).getroot()
    assert root.tag == "component" and root.get("type") == "desktop-application"
    assert root.findtext("id") == APP_ID == "io.github.nnviz.nnviz"
    assert root.findtext("launchable[@type='desktop-id']") == DESKTOP.name
    assert entry["Icon"] == APP_ID
    assert (RESOURCES / f"{APP_ID}.svg").is_file()
    # the launcher starts the window; the metainfo names both commands the package installs
    commands = _commands()
    assert entry["Exec"].split()[0] in commands["gui_scripts"]
    assert entry["TryExec"] in commands["gui_scripts"]
    provided = {binary.text for binary in root.iter("binary")}
    assert (
        provided == commands["console_scripts"] | commands["gui_scripts"] == {"nnviz", "nnviz-gui"}
    )
    assert entry["StartupWMClass"] == "nnviz"  # Qt's WM_CLASS is the application name


def test_metainfo_describes_this_release():
    root = ET.parse(METAINFO).getroot()
    versions = [release.get("version") for release in root.iter("release")]
    assert versions[0] == nnviz.__version__
    assert root.findtext("project_license") == "MIT"  # pyproject's license
    assert root.findtext("metadata_license") == "CC0-1.0"
    assert root.find("content_rating").get("type") == "oars-1.1"


def test_install_desktop_adds_the_launcher_metainfo_and_icons(tmp_path):
    folder = tmp_path / "my apps"  # a space, as in many home folders
    folder.mkdir()
    executable = folder / "nnviz-gui"
    executable.write_text("#!/bin/sh\n")
    executable.chmod(0o755)
    data = tmp_path / "share"
    result = subprocess.run(
        ["bash", ROOT / "packaging" / "install-desktop.sh", "--exec", executable],
        env={**os.environ, "XDG_DATA_HOME": str(data)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    launcher = data / "applications" / DESKTOP.name
    text = launcher.read_text()
    assert f'Exec="{executable}" %f' in text and f"TryExec={executable}\n" in text
    assert (data / "metainfo" / METAINFO.name).read_bytes() == METAINFO.read_bytes()
    for size in PNG_SIZES:
        assert (data / "icons" / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png").is_file()
    assert (data / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg").is_file()
    tool = shutil.which("desktop-file-validate")
    if tool is not None:
        check = subprocess.run([tool, str(launcher)], capture_output=True, text=True, timeout=60)
        assert check.returncode == 0 and check.stdout + check.stderr == "", check.stdout


# -- icons -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", PNG_SIZES)
def test_icon_pngs_have_their_size(size, qapp):
    theme = RESOURCES / "icons" / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png"
    image = _image(theme)
    assert (image.width(), image.height()) == (size, size)
    assert image.hasAlphaChannel() and image.pixelColor(0, 0).alpha() == 0  # rounded corner
    assert _colours(image) > 20
    # the package carries the same pictures for the running app
    assert (PACKAGE_RESOURCES / f"nnviz-{size}.png").read_bytes() == theme.read_bytes()


def test_package_svg_is_the_resources_svg():
    assert (PACKAGE_RESOURCES / "nnviz.svg").read_bytes() == (
        RESOURCES / f"{APP_ID}.svg"
    ).read_bytes()


def test_ico_holds_png_entries_up_to_256(qapp):
    data = (RESOURCES / f"{APP_ID}.ico").read_bytes()
    reserved, kind, count = struct.unpack_from("<HHH", data)
    assert (reserved, kind, count) == (0, 1, 7)
    sizes = []
    for index in range(count):
        width, height, _, _, planes, bits, length, offset = struct.unpack_from(
            "<BBBBHHII", data, 6 + 16 * index
        )
        assert data[offset : offset + 8] == b"\x89PNG\r\n\x1a\n" and offset + length <= len(data)
        assert (planes, bits) == (1, 32) and width == height
        sizes.append(width or 256)  # 0 means 256
    assert sizes == [16, 24, 32, 48, 64, 128, 256]
    reader = QImageReader(str(RESOURCES / f"{APP_ID}.ico"))  # Qt's own reader agrees
    assert reader.format() == b"ico" and reader.imageCount() == count


def test_icns_holds_png_entries_up_to_1024(qapp):
    data = (RESOURCES / f"{APP_ID}.icns").read_bytes()
    assert data[:4] == b"icns" and struct.unpack_from(">I", data, 4)[0] == len(data)
    kinds, offset = [], 8
    while offset < len(data):
        kind, length = data[offset : offset + 4], struct.unpack_from(">I", data, offset + 4)[0]
        assert data[offset + 8 : offset + 16] == b"\x89PNG\r\n\x1a\n"
        kinds.append(kind.decode())
        offset += length
    assert offset == len(data)
    assert {"icp4", "icp5", "ic07", "ic08", "ic09", "ic10"} <= set(kinds)
    reader = QImageReader(str(RESOURCES / f"{APP_ID}.icns"))  # Qt's own reader agrees
    assert reader.format() == b"icns" and reader.imageCount() == len(kinds)
    widths = []
    for index in range(len(kinds)):
        assert reader.jumpToImage(index)
        widths.append(reader.read().width())
    assert max(widths) == 1024 and min(widths) == 16


def test_app_icon_has_every_size(qapp):
    icon = app_icon()
    assert sorted(size.width() for size in icon.availableSizes()) == list(PNG_SIZES)


# -- the wheel in a fresh venv (slow) ---------------------------------------------------------------


def _clean_env() -> dict[str, str]:
    """The environment for a program under test: offscreen Qt, nothing from this venv."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DISPLAY", "WAYLAND_DISPLAY", "PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")
    }
    env["QT_QPA_PLATFORM"] = "offscreen"
    return env


def _run(command: list, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, f"{command} failed:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """nnviz's wheel, built with pip from a clean copy of the source tree."""
    base = tmp_path_factory.mktemp("wheel")
    source = base / "source"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE)
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", base / "dist", source], base)
    (wheel,) = (base / "dist").glob("nnviz-*.whl")
    return wheel


@pytest.fixture(scope="module")
def fresh_venv(wheel, tmp_path_factory) -> Path:
    """A new venv (no system site-packages) with the wheel and its dependencies installed."""
    venv = tmp_path_factory.mktemp("venv") / "venv"
    _run([sys.executable, "-m", "venv", venv], venv.parent)
    python = venv / "bin" / "python"
    _run([python, "-m", "pip", "install", "--quiet", wheel], venv.parent)
    return venv


@pytest.mark.slow
def test_wheel_carries_the_icons_and_both_commands(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        (entry_points,) = [name for name in names if name.endswith("entry_points.txt")]
        entry_points = archive.read(entry_points).decode()
    assert "nnviz/resources/nnviz.svg" in names
    assert {f"nnviz/resources/nnviz-{size}.png" for size in PNG_SIZES} <= names
    assert "[console_scripts]\nnnviz = nnviz.cli:main" in entry_points
    assert "[gui_scripts]\nnnviz-gui = nnviz.gui.app:main" in entry_points


@pytest.mark.slow
def test_fresh_venv_prints_the_version(fresh_venv, tmp_path):
    result = _run([fresh_venv / "bin" / "nnviz", "--version"], tmp_path, timeout=120)
    assert result.stdout.strip() == f"nnviz {nnviz.__version__}"
    assert (fresh_venv / "bin" / "nnviz-gui").is_file()


@pytest.mark.slow
def test_fresh_venv_loads_the_icons_from_the_installed_package(fresh_venv, tmp_path):
    script = (
        "import nnviz\n"
        "from PySide6.QtWidgets import QApplication\n"
        "from nnviz.gui.app import app_icon\n"
        "app = QApplication([])\n"
        "print(nnviz.__file__)\n"
        "print(sorted(size.width() for size in app_icon().availableSizes()))\n"
    )
    result = _run([fresh_venv / "bin" / "python", "-c", script], tmp_path, timeout=120)
    location, sizes = result.stdout.splitlines()[-2:]
    assert Path(location).is_relative_to(fresh_venv)  # not this source tree
    assert sizes == str(list(PNG_SIZES))


@pytest.mark.slow
def test_fresh_venv_trains_and_takes_a_screenshot(fresh_venv, tmp_path):
    shot = tmp_path / "window.png"
    result = _run(
        [
            fresh_venv / "bin" / "nnviz",
            "gui",
            "--train",
            "50",
            "--screenshot",
            shot,
            "--quit",
            "--window-size",
            "1280x800",
        ],
        tmp_path,
        timeout=300,
    )
    assert result.stdout.startswith("trained 50 iterations")
    image = _image(shot)
    assert (image.width(), image.height()) == (1280, 800)
    assert _colours(image) > 500
