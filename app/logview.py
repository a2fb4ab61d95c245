"""Links the studio shows (log and status URIs, a submitted job's status): opened by the
desktop when it has a launcher, else in the studio's own Log Viewer, which follows the file
(or the page) as it grows, like ``tail -f``."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, QUrl
from PySide6.QtGui import QDesktopServices, QFontDatabase, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

TAIL = 1_000_000  # bytes of a file shown: its end, where a log's news is
FOLLOW_MS = 500


def has_launcher() -> bool:
    """Whether the desktop can open a link at all (on Linux that takes xdg-open)."""
    return not sys.platform.startswith("linux") or shutil.which("xdg-open") is not None


def open_link(url: QUrl, inside) -> None:
    """Open ``url`` with the desktop's viewer, else call ``inside(url)``: a link that does
    nothing is worse than a plain viewer."""
    if has_launcher() and QDesktopServices.openUrl(url):
        return
    inside(url)


def read_tail(path: str) -> str:
    try:
        with open(path, "rb") as handle:
            size = handle.seek(0, 2)
            handle.seek(max(0, size - TAIL))
            return handle.read().decode("utf-8", errors="replace")
    except OSError as exc:
        return f"(cannot read {path}: {exc.strerror or exc})"


class LogViewer(QWidget):
    """One link's text, followed while Follow is on: a file is read again when it changes,
    a page fetched again once the last answer came."""

    def __init__(self, parent=None):
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle("Log Viewer")
        self.url = QUrl()
        self.where = QLabel()
        self.where.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.text = QPlainTextEdit(readOnly=True)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.follow = QCheckBox("Follow", checked=True)
        self.follow.setToolTip("Show what is added as it is written (tail -f)")
        self.follow.toggled.connect(self._follow_changed)
        external = QPushButton("Open Externally")
        external.setToolTip("Open it with the desktop's viewer")
        external.setEnabled(has_launcher())
        external.clicked.connect(lambda: QDesktopServices.openUrl(self.url))
        top = QHBoxLayout()
        top.addWidget(self.where, 1)
        top.addWidget(self.follow)
        top.addWidget(external)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.text, 1)
        self._network = None  # made for the first log fetched over HTTP
        self._reply = None
        self._stamp: tuple | None = None
        self._timer = QTimer(self, interval=FOLLOW_MS)
        self._timer.timeout.connect(self.reload)
        self.resize(900, 560)

    def show_url(self, url: QUrl) -> None:
        self.url, self._stamp = QUrl(url), None
        self.where.setText(url.toLocalFile() if url.isLocalFile() else url.toString())
        self.setWindowTitle(f"{Path(url.path()).name or url.host()} — Log Viewer")
        self.text.clear()
        self.reload()
        self._follow_changed(self.follow.isChecked())
        first = not self.isVisible()
        self.show()
        if first:  # once shown, its frame's size is known
            self._place()
        self.raise_()
        self.activateWindow()

    def keyPressEvent(self, event) -> None:
        """Esc and Ctrl+W close it, as they close a dialog or a tab."""
        if event.key() == Qt.Key.Key_Escape or event.matches(QKeySequence.StandardKey.Close):
            self.close()
        else:
            super().keyPressEvent(event)

    def _place(self) -> None:
        """On the screen of the window that opened it, whole (its size fitted to the screen),
        centred on that window."""
        opener = QApplication.activeWindow()
        screen = (opener.screen() if opener is not None else None) or self.screen()
        area = screen.availableGeometry()
        border = self.frameGeometry().size() - self.size()
        self.resize(min(self.width(), area.width() - border.width()),
                    min(self.height(), area.height() - border.height()))
        frame = self.frameGeometry()
        frame.moveCenter(opener.frameGeometry().center() if opener is not None
                         else area.center())
        frame.moveLeft(max(area.left(), min(frame.left(), area.right() - frame.width() + 1)))
        frame.moveTop(max(area.top(), min(frame.top(), area.bottom() - frame.height() + 1)))
        self.move(frame.topLeft())

    def reload(self) -> None:
        if self.url.isLocalFile():
            self._reload_file(self.url.toLocalFile())
        elif self._reply is None and self.url.isValid():
            from PySide6.QtNetwork import QNetworkAccessManager, QNetworkRequest

            if self._network is None:
                self._network = QNetworkAccessManager(self)
            self._reply = self._network.get(QNetworkRequest(self.url))
            self._reply.finished.connect(self._fetched)

    def _reload_file(self, path: str) -> None:
        try:
            info = Path(path).stat()
            stamp = (info.st_size, info.st_mtime_ns, info.st_ino)
        except OSError:
            stamp = None
        if stamp != self._stamp or stamp is None:
            self._stamp = stamp
            self._set_text(read_tail(path))

    def _fetched(self) -> None:
        reply, self._reply = self._reply, None
        from PySide6.QtNetwork import QNetworkReply

        body = bytes(reply.readAll().data()).decode("utf-8", errors="replace")
        if reply.error() != QNetworkReply.NetworkError.NoError:
            body = f"(cannot fetch {self.url.toString()}: {reply.errorString()})\n{body}"
        reply.deleteLater()
        self._set_text(body)

    def _set_text(self, text: str) -> None:
        if text == self.text.toPlainText():
            return
        bar = self.text.verticalScrollBar()
        at_end = bar.value() >= bar.maximum() - 2
        self.text.setPlainText(text)
        if at_end or self.follow.isChecked():
            bar.setValue(bar.maximum())

    def _follow_changed(self, on: bool) -> None:
        if on and self.isVisible():
            self._timer.start()
        elif not on:
            self._timer.stop()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._follow_changed(self.follow.isChecked())

    def hideEvent(self, event) -> None:
        self._timer.stop()
        super().hideEvent(event)
