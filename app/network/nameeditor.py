"""The field that edits a node's name in place, over the node (F2, a double-click)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLineEdit


class NameEditor(QLineEdit):
    """The field that edits a node's name in place. ``done(old, new)`` once, with the text
    on Return or when it loses the focus, and with ``old`` on Esc."""

    done = Signal(str, str)

    def __init__(self, name: str, parent):
        super().__init__(name, parent)
        self.name = name
        self.setObjectName("nameeditor")
        self.setStyleSheet("#nameeditor { background: #1b1f24; color: #ffffff; font-weight: bold;"
                           " border: 1px solid #f0c040; padding: 0 4px; }")
        self.selectAll()
        self.returnPressed.connect(lambda: self._finish(self.text().strip()))

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self._finish(self.name)
            event.accept()
            return
        super().keyPressEvent(event)

    def focusOutEvent(self, event) -> None:
        super().focusOutEvent(event)
        if self.isVisible():
            self._finish(self.text().strip())

    def _finish(self, text: str) -> None:
        self.hide()  # once: hiding takes the focus, which would finish again
        self.done.emit(self.name, text)
