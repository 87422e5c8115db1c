"""The message banner: floats over the top of the views, so showing it never moves the layout."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QWidget

STYLE = (
    "QWidget#banner { background: #fdecea; border: 1px solid #e0a39a; }"
    "QLabel { color: #8a1f11; background: transparent; border: none; }"
)
MARGIN = 8  # px between the banner and its parent's edges


class Banner(QWidget):
    """A message over the top of `parent`, with a button that closes it (`closed` fires)."""

    closed = Signal()

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent, objectName="banner")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground)
        self.setStyleSheet(STYLE)
        self.label = QLabel(wordWrap=True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        close = QToolButton(text="✕", toolTip="Hide this message", autoRaise=True)
        close.clicked.connect(self.closed)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 6, 4, 6)
        layout.addWidget(self.label, 1)
        layout.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)
        parent.installEventFilter(self)
        self.hide()

    def text(self) -> str:
        return self.label.text()

    def show_text(self, text: str) -> None:
        """Show `text` over the parent's top edge; "" hides the banner."""
        self.label.setText(text)
        self.setVisible(bool(text))
        if text:
            self._place()
            self.raise_()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize and self.isVisible():
            self._place()
        return False

    def _place(self) -> None:
        width = max(self.parentWidget().width() - 2 * MARGIN, 100)
        self.setGeometry(MARGIN, MARGIN, width, self.heightForWidth(width))
