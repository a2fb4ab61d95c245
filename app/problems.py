"""The Problems panel: callback tracebacks, failed items and scheduler files that failed to
load. Activating one goes to it: the callback field at the line, or the work item."""

from __future__ import annotations

import re

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QListWidget, QListWidgetItem

_FIELD_LINE = re.compile(r'File "<(\w+):(\w+)>", line (\d+)')
TARGET = Qt.ItemDataRole.UserRole
KIND = Qt.ItemDataRole.UserRole + 1  # "load error", "error", "warning"...
LOAD_ERROR = "load error"


def field_target(text: str) -> tuple | None:
    """("field", node, callback, line) of the last user frame a traceback names."""
    found = _FIELD_LINE.findall(text)
    if not found:
        return None
    node, field, line = found[-1]
    return "field", node, field, int(line)


class ProblemsPanel(QListWidget):
    activated = Signal(tuple)  # ("field", node, callback, line) or ("item", id)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.itemActivated.connect(self._activated)

    def add(self, kind: str, text: str, target: tuple | None = None) -> None:
        first = text.strip().splitlines()[0] if text.strip() else kind
        last = text.strip().splitlines()[-1] if text.strip() else ""
        entry = QListWidgetItem(f"{kind}: {first}" + (f" … {last}" if last != first else ""))
        entry.setToolTip(text)
        entry.setForeground(QColor("#e5534b" if kind != "warning" else "#d4a72c"))
        entry.setData(TARGET, target or field_target(text))
        entry.setData(KIND, kind)
        self.addItem(entry)

    def show_load_errors(self, failures) -> None:
        """The type files that fail to load now (after a reload): those fixed since go, new
        ones come; the other problems stay."""
        for row in reversed(range(self.count())):
            if self.item(row).data(KIND) == LOAD_ERROR:
                self.takeItem(row)
        for failure in failures:
            self.add(LOAD_ERROR, str(failure), ("file", failure.file, failure.line or 0,
                                                failure.why))

    def _activated(self, entry: QListWidgetItem) -> None:
        target = entry.data(TARGET)
        if target:
            self.activated.emit(tuple(target))
