"""A scheduler module file shown read-only at a line: where the Scheduler Check panel leads
for a failure in a module file (a Python Scheduler field opens in its own editor instead)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from ..logview import open_link
from .code import CodeEditor


class SourceView(QWidget):
    """A window with the file, its line marked; edits belong in the user's editor."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Source")
        self.resize(820, 600)
        self.path = ""
        self._mark: tuple[int, str] | None = None
        self.where = QLabel()
        # the line is marked as the editor marks a syntax error's
        self.editor = CodeEditor(check=lambda _text: self._mark)
        self.editor.setReadOnly(True)
        self.open_button = QPushButton("Open in Editor",
                                       toolTip="The desktop's editor for Python files")
        self.open_button.clicked.connect(
            lambda: open_link(QUrl.fromLocalFile(self.path), self._no_launcher))
        top = QHBoxLayout()
        top.addWidget(self.where, 1)
        top.addWidget(self.open_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.editor, 1)

    def _no_launcher(self, _url) -> None:
        self.where.setText(f"{self.path}: this desktop has no program to open files with; "
                           f"open it in your editor")

    def show_line(self, path: str, line: int) -> bool:
        """Show ``path`` at ``line``; False (and a message instead) when it cannot be read."""
        self.path = path
        try:
            text = Path(path).read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            self.where.setText(f"{path}: {exc.strerror or exc}")
            self._mark = None
            self.editor.clear()
            self.show()
            return False
        self.where.setText(f"{path}, line {line}")
        self.setWindowTitle(f"{Path(path).name}:{line}")
        self._mark = (line, "")
        self.editor.setPlainText(text)
        self.editor.run_check()
        self.editor.goto_line(line)
        self.show()
        self.raise_()
        return True
