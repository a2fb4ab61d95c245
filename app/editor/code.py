"""The code editor of a callback field: Python highlighting (pygments), line numbers, the
method's signature above the body, Tab as four spaces, auto-indent, undo/redo (Qt's), and a live
syntax check that marks the error line.

An editor is coloured from just after its first paint: pygments (its import and its lexer's
patterns, compiled once per process) costs the studio's first paint nothing, and an editor
on a tab never shown costs nothing at all."""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontDatabase,
    QPainter,
    QSyntaxHighlighter,
    QTextCharFormat,
    QTextCursor,
    QTextFormat,
)
from PySide6.QtWidgets import QLabel, QPlainTextEdit, QTextEdit, QVBoxLayout, QWidget

INDENT = "    "


def _colors() -> list[tuple[object, str]]:
    """pygments token -> colour, most specific first."""
    from pygments.token import Comment, Keyword, Name, Number, Operator, String

    return [(Comment, "#6a9955"), (String, "#ce9178"), (Number, "#b5cea8"),
            (Keyword, "#569cd6"), (Name.Builtin, "#4ec9b0"), (Name.Function, "#dcdcaa"),
            (Name.Class, "#4ec9b0"), (Name.Decorator, "#c586c0"), (Operator.Word, "#569cd6")]


def _format(color: str) -> QTextCharFormat:
    fmt = QTextCharFormat()
    fmt.setForeground(QColor(color))
    return fmt


class PythonHighlighter(QSyntaxHighlighter):
    """Colours each line with pygments' Python tokens. Strings that span lines are coloured
    line by line (enough for callback bodies)."""

    def __init__(self, document):
        from pygments.lexers import PythonLexer

        super().__init__(document)
        self._lexer = PythonLexer(stripnl=False, ensurenl=False)
        self._formats = [(token, _format(color)) for token, color in _colors()]

    def highlightBlock(self, text: str) -> None:
        position = 0
        for token, value in self._lexer.get_tokens(text):
            fmt = self._format_for(token)
            if fmt is not None:
                self.setFormat(position, len(value), fmt)
            position += len(value)

    def _format_for(self, token):
        for kind, fmt in self._formats:
            if token in kind:
                return fmt
        return None


class _LineNumbers(QWidget):
    def __init__(self, editor: CodeEditor):
        super().__init__(editor)
        self.editor = editor

    def sizeHint(self) -> QSize:
        return QSize(self.editor.line_number_width(), 0)

    def paintEvent(self, event) -> None:
        self.editor.paint_line_numbers(event)


class CodeEditor(QPlainTextEdit):
    """A Python editor. ``check`` is called with the text after each pause in typing and
    returns ``(line, message)`` of a syntax error, or None."""

    syntaxChecked = Signal(object)  # (line, message) or None

    def __init__(self, check=None, parent=None):
        super().__init__(parent)
        self._check = check
        self.error: tuple[int, str] | None = None
        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        font.setStyleHint(QFont.StyleHint.Monospace)
        self.setFont(font)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.setTabStopDistance(self.fontMetrics().horizontalAdvance(" ") * 4)
        self.setStyleSheet("QPlainTextEdit { background: #1e1e1e; color: #d4d4d4; }")
        self.highlighter: PythonHighlighter | None = None  # made just after the first paint
        self._highlight_asked = False
        self._numbers = _LineNumbers(self)
        self.blockCountChanged.connect(self._update_margin)
        self.updateRequest.connect(self._scroll_numbers)
        self._update_margin()
        self._timer = QTimer(self, singleShot=True, interval=300)
        self._timer.timeout.connect(self.run_check)
        self.textChanged.connect(self._timer.start)

    def paintEvent(self, event) -> None:
        super().paintEvent(event)
        if not self._highlight_asked:
            self._highlight_asked = True
            QTimer.singleShot(0, self, self.highlight)

    def highlight(self) -> PythonHighlighter:
        """Colour the code (done by itself just after the first paint)."""
        if self.highlighter is None:
            self.highlighter = PythonHighlighter(self.document())
        return self.highlighter

    # -- keys ----------------------------------------------------------------------------
    def keyPressEvent(self, event) -> None:
        key = event.key()
        cursor = self.textCursor()
        if key == Qt.Key.Key_Tab and not cursor.hasSelection():
            cursor.insertText(INDENT)
            return
        if key == Qt.Key.Key_Backtab:
            self._dedent_line(cursor)
            return
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            line = cursor.block().text()[:cursor.positionInBlock()]
            indent = line[:len(line) - len(line.lstrip())]
            if line.rstrip().endswith(":"):
                indent += INDENT
            cursor.insertText("\n" + indent)
            self.ensureCursorVisible()
            return
        super().keyPressEvent(event)

    def _dedent_line(self, cursor: QTextCursor) -> None:
        cursor.movePosition(QTextCursor.MoveOperation.StartOfBlock)
        text = cursor.block().text()
        remove = len(text) - len(text.lstrip(" "))
        for _ in range(min(4, remove)):
            cursor.deleteChar()

    # -- the syntax check ----------------------------------------------------------------
    def run_check(self) -> None:
        self.error = self._check(self.toPlainText()) if self._check else None
        selections = []
        if self.error is not None:
            selection = QTextEdit.ExtraSelection()
            selection.format.setBackground(QColor("#5a1d1d"))
            selection.format.setProperty(QTextFormat.Property.FullWidthSelection, True)
            block = self.document().findBlockByNumber(max(0, self.error[0] - 1))
            selection.cursor = QTextCursor(block)
            selections.append(selection)
        self.setExtraSelections(selections)
        self._numbers.update()
        self.syntaxChecked.emit(self.error)

    def goto_line(self, line: int) -> None:
        """Put the cursor at the start of ``line`` (1-based) and show it."""
        block = self.document().findBlockByNumber(max(0, line - 1))
        self.setTextCursor(QTextCursor(block))
        self.centerCursor()
        self.setFocus()

    # -- line numbers --------------------------------------------------------------------
    def line_number_width(self) -> int:
        digits = len(str(max(1, self.blockCount())))
        return 12 + self.fontMetrics().horizontalAdvance("9") * max(2, digits)

    def _update_margin(self, *_args) -> None:
        self.setViewportMargins(self.line_number_width(), 0, 0, 0)

    def _scroll_numbers(self, rect, dy) -> None:
        if dy:
            self._numbers.scroll(0, dy)
        else:
            self._numbers.update(0, rect.y(), self._numbers.width(), rect.height())

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        area = self.contentsRect()
        self._numbers.setGeometry(QRect(area.left(), area.top(), self.line_number_width(),
                                        area.height()))

    def paint_line_numbers(self, event) -> None:
        painter = QPainter(self._numbers)
        painter.fillRect(event.rect(), QColor("#252526"))
        block = self.firstVisibleBlock()
        top = round(self.blockBoundingGeometry(block).translated(self.contentOffset()).top())
        height = self.fontMetrics().height()
        error_line = self.error[0] if self.error else None
        while block.isValid() and top <= event.rect().bottom():
            if block.isVisible():
                number = block.blockNumber() + 1
                painter.setPen(QColor("#f48771" if number == error_line else "#858585"))
                painter.drawText(0, top, self._numbers.width() - 6, height,
                                 Qt.AlignmentFlag.AlignRight, str(number))
            top += round(self.blockBoundingRect(block).height())
            block = block.next()
        painter.end()


class CallbackEditor(QWidget):
    """A field's editor: the method's signature and the check's message above the body."""

    def __init__(self, signature: str, check, parent=None):
        super().__init__(parent)
        self.signature = QLabel(signature)
        self.signature.setStyleSheet("font-family: monospace; color: #569cd6; padding: 2px;")
        self.editor = CodeEditor(check)
        self.message = QLabel()
        self.message.setStyleSheet("color: #f48771;")
        self.message.setWordWrap(True)
        self.message.linkActivated.connect(lambda link: self.editor.goto_line(int(link)))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.signature)
        layout.addWidget(self.message)  # above the body: a tall field cannot push it away
        layout.addWidget(self.editor, 1)
        self.editor.syntaxChecked.connect(self._show)

    def _show(self, error) -> None:
        if error is None:
            self.message.clear()
        else:
            line, text = error
            self.message.setText(f'<a href="{line}">line {line}</a>: {text}')


__all__ = ["CallbackEditor", "CodeEditor", "PythonHighlighter"]
