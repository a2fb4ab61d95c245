"""The TAB menu: a searchable list of node types with a Schedulers section holding every
registered scheduler type, custom ones included. Reload Types refreshes it without a restart;
scheduler files that failed to load are listed with their file and line.

It is a real popup, like Houdini's and like a QMenu: it takes the keyboard on open (typing
filters, the arrows move, Enter chooses, Esc closes), a click outside closes it, it never
opens off-screen, and no key reaches the network behind it."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRect, Qt, Signal
from PySide6.QtGui import QColor, QGuiApplication
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
)

from schedcore import registry
from schedcore.nodes import NODE_TYPES

TYPE_ROLE = Qt.ItemDataRole.UserRole
FILE_ROLE = Qt.ItemDataRole.UserRole + 1  # (file, line, why) of a file that failed to load
MAX_ROWS = 18  # the list grows with its entries up to this many rows, then scrolls
NAVIGATION = {Qt.Key.Key_Up, Qt.Key.Key_Down, Qt.Key.Key_PageUp, Qt.Key.Key_PageDown}


def clamp_to(rect: QRect, area: QRect) -> QRect:
    """``rect`` moved (not resized, unless larger than ``area``) to lie inside ``area``."""
    width, height = min(rect.width(), area.width()), min(rect.height(), area.height())
    x = max(area.left(), min(rect.left(), area.right() + 1 - width))
    y = max(area.top(), min(rect.top(), area.bottom() + 1 - height))
    return QRect(x, y, width, height)


class SearchField(QLineEdit):
    """The filter field: the arrows and Enter act on the list below while typing goes on."""

    def __init__(self, menu: TabMenu):
        super().__init__(placeholderText="Search node and scheduler types…")
        self.menu = menu

    def keyPressEvent(self, event) -> None:
        if event.key() in NAVIGATION:
            self.menu.tree.keyPressEvent(event)
        elif event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.menu.choose_current()
        else:
            super().keyPressEvent(event)


class TabMenu(QFrame):
    chosen = Signal(str)  # a node or scheduler type name
    failureChosen = Signal(str, int, str)  # a file that failed to load, its line (0: none), why

    def __init__(self, parent=None):
        # Qt.Popup alone: a QDialog with the Popup flag added became a Tool window (the two
        # flags' bits make Qt.Tool), decorated and without the keyboard
        super().__init__(parent, Qt.WindowType.Popup)
        self.setObjectName("tabmenu")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setStyleSheet("#tabmenu { border: 1px solid #6a7c90; }")
        self.search = SearchField(self)
        self.search.setObjectName("tabmenu-search")
        self.tree = QTreeWidget()
        self.tree.setHeaderHidden(True)
        self.tree.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the keyboard stays in the search
        self.reload_button = QPushButton("Reload Types")
        self.reload_button.setToolTip("Import scheduler files that changed on the types path")
        self.reload_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.status = QLabel()
        self.status.setStyleSheet("color: #888;")
        buttons = QHBoxLayout()
        buttons.addWidget(self.status, 1)
        buttons.addWidget(self.reload_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.search)
        layout.addWidget(self.tree, 1)
        layout.addLayout(buttons)
        self.setFixedWidth(420)
        self.search.textChanged.connect(self._filter)
        self.tree.itemActivated.connect(self._activated)
        self.tree.itemClicked.connect(self._activated)
        self.reload_button.clicked.connect(self.reload_types)
        self.refresh()

    def refresh(self) -> None:
        reg = registry.default()
        self.tree.clear()
        nodes = QTreeWidgetItem(self.tree, ["TOP Nodes"])
        for name, node_type in sorted(NODE_TYPES.items()):
            self._entry(nodes, name, node_type.label, node_type.description)
        schedulers = QTreeWidgetItem(self.tree, ["Schedulers"])
        for entry in sorted(reg.types.values(), key=lambda t: t.label.lower()):
            self._entry(schedulers, entry.name, entry.label, f"from {entry.origin}")
        for section in (nodes, schedulers):
            section.setFlags(Qt.ItemFlag.ItemIsEnabled)  # a heading, not a choice
        failures = reg.failures
        if failures:
            broken = QTreeWidgetItem(self.tree, [f"Failed to load ({len(failures)})"])
            broken.setForeground(0, QColor("#e06c75"))
            broken.setFlags(Qt.ItemFlag.ItemIsEnabled)
            for failure in failures:
                item = QTreeWidgetItem(broken, [str(failure)])
                item.setToolTip(0, f"{failure}\n\nClick to open the file at the line")
                item.setData(0, FILE_ROLE, (failure.file, failure.line or 0, failure.why))
                item.setForeground(0, QColor("#e06c75"))
                item.setFlags(Qt.ItemFlag.ItemIsEnabled)
        self.tree.expandAll()
        self._summary = (f"{len(reg.types)} scheduler types"
                         + (f", {len(failures)} files failed" if failures else ""))
        self._filter(self.search.text())

    def reload_types(self) -> None:
        registry.default().reload()
        self.refresh()

    @staticmethod
    def _entry(parent: QTreeWidgetItem, name: str, label: str, tip: str) -> None:
        item = QTreeWidgetItem(parent, [f"{label}   ({name})"])
        item.setData(0, TYPE_ROLE, name)
        item.setToolTip(0, tip)

    def _choices(self) -> list[QTreeWidgetItem]:
        """Every type entry, in the order shown."""
        found = []
        for index in range(self.tree.topLevelItemCount()):
            section = self.tree.topLevelItem(index)
            found.extend(section.child(i) for i in range(section.childCount())
                         if section.child(i).data(0, TYPE_ROLE))
        return found

    def entries(self) -> dict[str, str]:
        """Visible type names -> their section ("TOP Nodes" or "Schedulers")."""
        return {item.data(0, TYPE_ROLE): item.parent().text(0)
                for item in self._choices() if not item.isHidden()}

    def current(self) -> str:
        """The type Enter would choose."""
        item = self.tree.currentItem()
        if item is None or item.isHidden():
            return ""
        return item.data(0, TYPE_ROLE) or ""

    def _filter(self, text: str) -> None:
        words = text.lower().split()
        for item in self._choices():
            item.setHidden(not all(w in item.text(0).lower() for w in words))
        for section in self._sections():
            if section.childCount() and section.child(0).data(0, TYPE_ROLE):
                section.setHidden(all(section.child(i).isHidden()
                                      for i in range(section.childCount())))
        visible = [item for item in self._choices() if not item.isHidden()]
        if not self.current():  # keep the highlight on a visible choice
            self.tree.setCurrentItem(visible[0] if visible else None)
        self.status.setText(self._summary if visible or not words
                            else f"No node or scheduler type matches \u201c{text.strip()}\u201d")
        self._fit()

    def _sections(self) -> list[QTreeWidgetItem]:
        return [self.tree.topLevelItem(i) for i in range(self.tree.topLevelItemCount())]

    def _fit(self) -> None:
        """As tall as its entries (a few rows when filtered), and still on the screen."""
        rows = sum(1 + sum(not s.child(i).isHidden() for i in range(s.childCount()))
                   for s in self._sections() if not s.isHidden())
        row = self.tree.sizeHintForRow(0) if self.tree.topLevelItemCount() else 0
        row = max(row, self.fontMetrics().height() + 2)
        frame = 2 * self.tree.frameWidth()
        self.tree.setFixedHeight(max(1, min(rows, MAX_ROWS)) * row + frame + 2)
        self.adjustSize()
        if self.isVisible():
            self._keep_on_screen(self.pos())

    def _keep_on_screen(self, at: QPoint) -> None:
        screen = QGuiApplication.screenAt(at) or QGuiApplication.primaryScreen()
        self.setGeometry(clamp_to(QRect(at, self.size()), screen.availableGeometry()))

    def choose_current(self) -> None:
        if self.current():
            self.choose(self.current())

    def _activated(self, item: QTreeWidgetItem) -> None:
        name, failed = item.data(0, TYPE_ROLE), item.data(0, FILE_ROLE)
        if name:
            self.choose(name)
        elif failed:
            self.close()
            self.failureChosen.emit(*failed)

    def choose(self, name: str) -> None:
        self.close()  # first: the new node is made with the network focused again
        self.chosen.emit(name)

    # -- showing -------------------------------------------------------------------------
    def popup(self, at: QPoint) -> None:
        """Open with its top-left corner at ``at`` (global), moved to stay on the screen."""
        self.move(at)
        self.show()

    def showEvent(self, event) -> None:
        self.search.clear()
        self._filter("")
        self._keep_on_screen(self.pos())
        # the keyboard goes to a popup's focus widget; activateWindow() would hand it back
        # to the main window on X
        self.search.setFocus(Qt.FocusReason.PopupFocusReason)
        super().showEvent(event)

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.close()
        event.accept()  # the popup's keys are its own, whatever they are
