"""Folder tabs that wrap onto more rows when the pane is narrow, as Houdini's parameter
folders do: every tab stays readable at 1,024 px, with no scroll arrows to hunt through.
The calls are QTabWidget's that the pane uses (addTab, count, tabText, currentIndex...)."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRect, QSize, Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QFrame,
    QLayout,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

# the chosen tab is told by colour, not bold type: bold text would not fit the button sized
# for the regular weight
TAB_STYLE = """
QPushButton { border: 1px solid #555; border-bottom: none; padding: 3px 10px;
              background: #404040; color: #cfcfcf; border-top-left-radius: 3px;
              border-top-right-radius: 3px; }
QPushButton:checked { background: #5a5a5a; color: #ffffff; border-color: #c28a1e; }
QPushButton:hover:!checked { background: #4a4a4a; }
"""


class FlowLayout(QLayout):
    """Items left to right, wrapping to a new row when the width runs out."""

    def __init__(self, parent=None, spacing: int = 2):
        super().__init__(parent)
        self._items = []
        self.setSpacing(spacing)
        self.setContentsMargins(0, 0, 0, 0)

    def addItem(self, item) -> None:
        self._items.append(item)

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int):
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int):
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    def expandingDirections(self):
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return self._place(QRect(0, 0, width, 0), move=False)

    def setGeometry(self, rect: QRect) -> None:
        super().setGeometry(rect)
        self._place(rect, move=True)

    def sizeHint(self) -> QSize:
        return self.minimumSize()

    def minimumSize(self) -> QSize:
        size = QSize()
        for item in self._items:
            size = size.expandedTo(item.minimumSize())
        return size

    def _place(self, rect: QRect, move: bool) -> int:
        x, y, row_height = rect.x(), rect.y(), 0
        for item in self._items:
            hint = item.sizeHint()
            if x + hint.width() > rect.right() + 1 and row_height:
                x, y = rect.x(), y + row_height + self.spacing()
                row_height = 0
            if move:
                item.setGeometry(QRect(QPoint(x, y), hint))
            x += hint.width() + self.spacing()
            row_height = max(row_height, hint.height())
        return y + row_height - rect.y()


class WrapTabs(QWidget):
    currentChanged = Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._bar = QWidget()
        self._bar.setStyleSheet(TAB_STYLE)
        self._flow = FlowLayout(self._bar)
        policy = QSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        policy.setHeightForWidth(True)
        self._bar.setSizePolicy(policy)
        self._group = QButtonGroup(self)
        self._group.setExclusive(True)
        self._group.idClicked.connect(self.setCurrentIndex)
        self._stack = QStackedWidget()
        self._stack.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self._bar)
        layout.addWidget(self._stack, 1)

    def minimumSizeHint(self) -> QSize:
        """One row of tabs above the smallest page: the window's minimum is reckoned at the
        narrowest width, where every tab would wrap onto a row of its own."""
        row = max((b.sizeHint().height() for b in self._group.buttons()), default=0)
        widest = max((b.sizeHint().width() for b in self._group.buttons()), default=0)
        page = self._stack.minimumSizeHint()
        return QSize(max(widest, page.width()), row + page.height())

    def addTab(self, widget: QWidget, text: str) -> int:
        index = self._stack.addWidget(widget)
        button = QPushButton(text, checkable=True)
        button.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        self._group.addButton(button, index)
        self._flow.addWidget(button)
        if index == 0:
            button.setChecked(True)
        return index

    def count(self) -> int:
        return self._stack.count()

    def tabText(self, index: int) -> str:
        button = self.button(index)
        return button.text() if button is not None else ""

    def button(self, index: int) -> QPushButton | None:
        return self._group.button(index)

    def widget(self, index: int) -> QWidget:
        return self._stack.widget(index)

    def currentIndex(self) -> int:
        return self._stack.currentIndex()

    def setCurrentIndex(self, index: int) -> None:
        if not 0 <= index < self.count():
            return
        self.button(index).setChecked(True)
        if index != self._stack.currentIndex():
            self._stack.setCurrentIndex(index)
            self.currentChanged.emit(index)
