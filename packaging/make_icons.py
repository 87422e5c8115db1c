"""Render nnviz's icon from its SVG into every file a platform wants; run it after editing the SVG.

    python packaging/make_icons.py

Reads resources/io.github.nnviz.nnviz.svg (the one hand-edited source) and writes:

- resources/icons/hicolor/NxN/apps/io.github.nnviz.nnviz.png for N in 16 ... 512 (the freedesktop
  icon theme layout, for the .desktop launcher),
- resources/io.github.nnviz.nnviz.ico (Windows: 16 ... 256, PNG-compressed entries),
- resources/io.github.nnviz.nnviz.icns (macOS: 16 ... 1024, PNG entries),
- nnviz/resources/nnviz.svg and nnviz/resources/nnviz-N.png (what the running app loads through
  importlib.resources; PNGs need no Qt SVG plugin, so they work in every bundle).

Qt's QSvgRenderer does the rendering; the .ico and .icns containers are written here, since Qt's
image writers do not write them. Both formats are a small header, a table and PNG payloads.
"""

from __future__ import annotations

import os
import shutil
import struct
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

APP_ID = "io.github.nnviz.nnviz"
ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "resources" / f"{APP_ID}.svg"

#: The freedesktop PNG sizes, also bundled with the package.
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
#: Windows reads up to 256 px from an .ico.
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
#: macOS .icns PNG entry types and their pixel sizes (the @2x types are the Retina variants).
ICNS_TYPES = (
    (b"icp4", 16),
    (b"ic11", 32),  # 16@2x
    (b"icp5", 32),
    (b"ic12", 64),  # 32@2x
    (b"icp6", 64),
    (b"ic07", 128),
    (b"ic13", 256),  # 128@2x
    (b"ic08", 256),
    (b"ic14", 512),  # 256@2x
    (b"ic09", 512),
    (b"ic10", 1024),  # 512@2x
)


def render_png(renderer: QSvgRenderer, size: int) -> bytes:
    """The SVG drawn into a transparent size x size image, as PNG bytes."""
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHints(
        QPainter.RenderHint.Antialiasing | QPainter.RenderHint.SmoothPixmapTransform
    )
    renderer.render(painter)
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG"):
        raise RuntimeError(f"cannot encode a {size} px PNG")
    return bytes(data.data())


def ico_bytes(pngs: dict[int, bytes]) -> bytes:
    """A Windows .ico: ICONDIR, one 16-byte ICONDIRENTRY per image, then the PNG payloads."""
    sizes = sorted(pngs)
    header = struct.pack("<HHH", 0, 1, len(sizes))  # reserved, type 1 = icon, count
    offset = len(header) + 16 * len(sizes)
    entries, payloads = [], []
    for size in sizes:
        data = pngs[size]
        side = 0 if size >= 256 else size  # 0 means 256
        # width, height, palette colours, reserved, colour planes, bits per pixel, size, offset
        entries.append(struct.pack("<BBBBHHII", side, side, 0, 0, 1, 32, len(data), offset))
        payloads.append(data)
        offset += len(data)
    return header + b"".join(entries) + b"".join(payloads)


def icns_bytes(entries: list[tuple[bytes, bytes]]) -> bytes:
    """A macOS .icns: b"icns" and the file length, then (type, length incl. 8, PNG) blocks."""
    blocks = b"".join(kind + struct.pack(">I", len(data) + 8) + data for kind, data in entries)
    return b"icns" + struct.pack(">I", len(blocks) + 8) + blocks


def main() -> int:
    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841
    renderer = QSvgRenderer(str(SOURCE))
    if not renderer.isValid():
        print(f"make_icons: cannot read {SOURCE}", file=sys.stderr)
        return 1
    sizes = sorted({*PNG_SIZES, *ICO_SIZES, *(size for _, size in ICNS_TYPES)})
    pngs = {size: render_png(renderer, size) for size in sizes}

    resources = ROOT / "resources"
    package = ROOT / "nnviz" / "resources"
    written = []
    for size in PNG_SIZES:
        path = resources / "icons" / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(pngs[size])
        written.append(path)
        path = package / f"nnviz-{size}.png"
        path.write_bytes(pngs[size])
        written.append(path)
    path = resources / f"{APP_ID}.ico"
    path.write_bytes(ico_bytes({size: pngs[size] for size in ICO_SIZES}))
    written.append(path)
    path = resources / f"{APP_ID}.icns"
    path.write_bytes(icns_bytes([(kind, pngs[size]) for kind, size in ICNS_TYPES]))
    written.append(path)
    shutil.copyfile(SOURCE, package / "nnviz.svg")
    written.append(package / "nnviz.svg")
    for path in written:
        print(f"{path.relative_to(ROOT)}  {path.stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
