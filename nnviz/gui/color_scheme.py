"""Light or dark: the window follows the desktop's colour scheme, or the user's choice.

The plots are figures: they keep their white paper and dark ink in both schemes, so they read
the same on any desktop and what is on screen is what an export writes. The chrome around them
(panels, docks, menus, the status bar) takes a light or a dark Fusion palette.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPainter, QPalette
from PySide6.QtWidgets import QApplication, QWidget

#: What the user can choose in View > Colours, as stored in the settings.
SCHEMES = {"auto": "Follow the desktop", "light": "Light", "dark": "Dark"}

_DARK = {
    QPalette.ColorRole.Window: (45, 45, 48),
    QPalette.ColorRole.WindowText: (232, 232, 232),
    QPalette.ColorRole.Base: (30, 30, 32),
    QPalette.ColorRole.AlternateBase: (52, 52, 56),
    QPalette.ColorRole.ToolTipBase: (60, 60, 64),
    QPalette.ColorRole.ToolTipText: (240, 240, 240),
    QPalette.ColorRole.PlaceholderText: (150, 150, 150),
    QPalette.ColorRole.Text: (232, 232, 232),
    QPalette.ColorRole.Button: (58, 58, 62),
    QPalette.ColorRole.ButtonText: (232, 232, 232),
    QPalette.ColorRole.BrightText: (255, 110, 100),
    QPalette.ColorRole.Light: (80, 80, 85),
    QPalette.ColorRole.Midlight: (66, 66, 70),
    QPalette.ColorRole.Mid: (110, 110, 116),
    QPalette.ColorRole.Dark: (25, 25, 27),
    QPalette.ColorRole.Shadow: (10, 10, 10),
    QPalette.ColorRole.Highlight: (42, 130, 218),
    QPalette.ColorRole.HighlightedText: (255, 255, 255),
    QPalette.ColorRole.Link: (100, 170, 240),
    QPalette.ColorRole.LinkVisited: (170, 130, 230),
}
_DARK_DISABLED = {
    QPalette.ColorRole.WindowText: (128, 128, 128),
    QPalette.ColorRole.Text: (128, 128, 128),
    QPalette.ColorRole.ButtonText: (128, 128, 128),
    QPalette.ColorRole.Highlight: (80, 80, 85),
}


def dark_palette() -> QPalette:
    """A dark Fusion palette with readable disabled text."""
    palette = QPalette()
    for role, rgb in _DARK.items():
        palette.setColor(role, QColor(*rgb))
    for role, rgb in _DARK_DISABLED.items():
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor(*rgb))
    return palette


def desktop_is_dark() -> bool:
    """The platform says the desktop uses a dark scheme (GNOME, KDE, macOS, Windows)."""
    return QGuiApplication.styleHints().colorScheme() == Qt.ColorScheme.Dark


def wants_dark(choice: str) -> bool:
    return choice == "dark" or (choice == "auto" and desktop_is_dark())


def apply_scheme(app: QApplication, choice: str) -> None:
    """Give the application the palette of `choice` ("auto", "light" or "dark")."""
    if choice not in SCHEMES:
        choice = "auto"
    app.setStyle("Fusion")  # the one style whose palette is fully ours on every platform
    app.setPalette(dark_palette() if wants_dark(choice) else app.style().standardPalette())


def tinted_icon(icon: QIcon, color: QColor, size: int = 32) -> QIcon:
    """`icon`'s shape in one colour: the style's dark media icons vanish on a dark toolbar."""
    pixmap = icon.pixmap(size, size)
    painter = QPainter(pixmap)
    painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceIn)
    painter.fillRect(pixmap.rect(), color)
    painter.end()
    return QIcon(pixmap)


def is_dark(widget: QWidget) -> bool:
    """The widget is drawn on a dark background (for colours a palette has no role for)."""
    return widget.palette().color(QPalette.ColorRole.Window).lightness() < 128


def error_color(widget: QWidget) -> str:
    """A red that reads as an error on the widget's background."""
    return "#ff8a80" if is_dark(widget) else "#b3261e"


def muted_color(widget: QWidget) -> str:
    """Secondary text: legible, but quieter than the text around it."""
    return "#a8a8a8" if is_dark(widget) else "#6e6e6e"
