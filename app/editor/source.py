"""A scheduler module file at a line, to be fixed where it failed: a failure that the
Scheduler Check found in a module file, or a file that failed to load (a Python Scheduler
field opens in its own editor instead). Save writes the file and the window reloads the
types, so the fix is in use without a restart."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QUrl, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMessageBox, QPushButton, QVBoxLayout, QWidget

from schedcore.network import write_atomic

from ..logview import open_link
from .code import CodeEditor


def syntax_error(text: str) -> tuple[int, str] | None:
    """(line, message) of the first syntax error of a module's text, or None."""
    try:
        compile(text, "<module>", "exec", dont_inherit=True)
    except SyntaxError as exc:
        return exc.lineno or 1, exc.msg
    except ValueError as exc:  # a NUL byte
        return 1, str(exc)
    return None


class SourceView(QWidget):
    """A window with the file, the failed line marked until the text changes (then its syntax
    errors are); Save (Ctrl+S) writes it, Open in Editor hands it to the desktop's editor."""

    saved = Signal(str)  # the file's path

    def __init__(self, parent=None):
        super().__init__(parent)
        self.resize(820, 600)
        self.path = ""
        self._line = 0
        self._mark: tuple[int, str] | None = None
        self._on_disk: str | None = None  # the text the file had when read or saved
        self.where = QLabel()
        self.where.setWordWrap(True)
        self.editor = CodeEditor(check=self._check)
        self.save_button = QPushButton("Save", enabled=False,
                                       toolTip="Write the file (Ctrl+S); the types reload")
        self.save_button.clicked.connect(self.save)
        self.open_button = QPushButton("Open in Editor",
                                       toolTip="The desktop's editor for Python files")
        self.open_button.clicked.connect(
            lambda: open_link(QUrl.fromLocalFile(self.path), self._no_launcher))
        QShortcut(QKeySequence.StandardKey.Save, self, self.save)  # in this window only
        self.editor.document().modificationChanged.connect(self._show_modified)
        top = QHBoxLayout()
        top.addWidget(self.where, 1)
        top.addWidget(self.save_button)
        top.addWidget(self.open_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.editor, 1)
        self._show_modified(False)

    @property
    def modified(self) -> bool:
        return self.editor.document().isModified()

    def _check(self, text: str) -> tuple[int, str] | None:
        # the failure found is marked until the text changes; then what Python says of it
        return syntax_error(text) if self.modified else self._mark

    def _show_modified(self, modified: bool) -> None:
        name = Path(self.path).name if self.path else "Source"
        at = f":{self._line}" if self.path and self._line else ""
        self.setWindowTitle(f"{name}{at}{' *' if modified else ''}")
        self.save_button.setEnabled(modified and self._on_disk is not None)

    def _no_launcher(self, _url) -> None:
        self.where.setText(f"{self.path}: this desktop has no program to open files with; "
                           f"open it in your editor")

    def show_line(self, path: str, line: int, why: str = "") -> bool:
        """Show ``path`` at ``line`` (0: the file as a whole, nothing marked) and ``why`` it
        is shown; False (and a message instead) when it cannot be read, or when the edits of
        another file were to be kept. The same file's edits stay."""
        if path != self.path and not self.may_discard():
            self.show()
            self.raise_()
            return False
        if path != self.path or not self.modified:
            if not self._read(path, line):
                return False
        self._line = line
        self.where.setText((f"{path}, line {line}" if line else path)
                           + (f": {why}" if why else "")
                           + (" (not UTF-8 text: shown read-only)" if self._on_disk is None
                              else ""))
        self._show_modified(self.modified)
        self.editor.run_check()
        self.editor.goto_line(max(1, line))
        self.show()
        self.raise_()
        self.activateWindow()
        return True

    def _read(self, path: str, line: int) -> bool:
        self.path, self._line, self._mark = path, line, (line, "") if line else None
        try:
            text = Path(path).read_text(encoding="utf-8")
            self._on_disk = text
        except UnicodeDecodeError:  # shown, but saving it would change its bytes
            text = Path(path).read_text(encoding="utf-8", errors="replace")
            self._on_disk = None
        except OSError as exc:
            self.where.setText(f"{path}: {exc.strerror or exc}")
            self._on_disk = self._mark = None
            self.editor.clear()
            self.editor.document().setModified(False)
            self.show()
            return False
        self.editor.setPlainText(text)  # not modified
        self.editor.setReadOnly(self._on_disk is None)
        return True

    def save(self) -> bool:
        """Write the text to the file (asking first when the file changed on disk since it
        was read); the window then reloads the types."""
        if not self.path or self._on_disk is None:
            return False
        try:
            now = Path(self.path).read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            now = None
        except OSError:
            now = self._on_disk  # unreadable: writing says why
        if now != self._on_disk:
            answer = QMessageBox.question(
                self, "Changed on disk",
                f"{Path(self.path).name} changed on disk since it was opened here"
                f"{' (it was removed)' if now is None else ''}. Write this text over it?",
                QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Cancel)
            if answer != QMessageBox.StandardButton.Save:
                return False
        text = self.editor.toPlainText()
        try:
            write_atomic(Path(self.path), text)
        except OSError as exc:
            self.where.setText(f"{self.path}: not saved: {exc.strerror or exc}")
            return False
        self._on_disk = text
        self._mark = syntax_error(text)  # the failure shown was the old text's
        self.editor.document().setModified(False)
        self.editor.run_check()
        self.where.setText(f"{self.path}: saved")
        self.saved.emit(self.path)
        return True

    def may_discard(self) -> bool:
        """True when there are no unsaved edits, or the user saved or discarded them."""
        if not self.modified:
            return True
        answer = QMessageBox.question(
            self, "Unsaved changes", f"{Path(self.path).name} has unsaved changes. Save them?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel)
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        if answer == QMessageBox.StandardButton.Discard:
            self.editor.document().setModified(False)
            self.path = ""  # read again when shown next
            return True
        return False

    def closeEvent(self, event) -> None:
        if self.may_discard():
            event.accept()
        else:
            event.ignore()
