"""The TAB menu: a searchable list of node types with a Schedulers section holding every
registered scheduler type, custom ones included. Reload Types refreshes it without a restart;
scheduler files that failed to load are listed with their file and line."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QDialog,
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


class TabMenu(QDialog):
    chosen = Signal(str)  # a node or scheduler type name

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Add a node")
        self.setWindowFlag(Qt.WindowType.Popup)
        self.search = QLineEdit(placeholderText="Search node and scheduler types…")
        self.tree = QTreeWidget()
        self.tree.setHeaderHidden(True)
        self.reload_button = QPushButton("Reload Types")
        self.reload_button.setToolTip("Import scheduler files that changed on the types path")
        self.status = QLabel()
        self.status.setStyleSheet("color: #888;")
        buttons = QHBoxLayout()
        buttons.addWidget(self.status, 1)
        buttons.addWidget(self.reload_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.search)
        layout.addWidget(self.tree, 1)
        layout.addLayout(buttons)
        self.resize(420, 460)
        self.search.textChanged.connect(self._filter)
        self.search.returnPressed.connect(self._choose_first)
        self.tree.itemActivated.connect(self._activated)
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
        failures = reg.failures
        if failures:
            broken = QTreeWidgetItem(self.tree, [f"Failed to load ({len(failures)})"])
            broken.setForeground(0, QColor("#e06c75"))
            for failure in failures:
                item = QTreeWidgetItem(broken, [str(failure)])
                item.setToolTip(0, str(failure))
                item.setForeground(0, QColor("#e06c75"))
                item.setFlags(Qt.ItemFlag.ItemIsEnabled)
        self.tree.expandAll()
        self.status.setText(f"{len(reg.types)} scheduler types"
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

    def entries(self) -> dict[str, str]:
        """Visible type names -> their section ("TOP Nodes" or "Schedulers")."""
        found = {}
        for index in range(self.tree.topLevelItemCount()):
            section = self.tree.topLevelItem(index)
            for child in range(section.childCount()):
                item = section.child(child)
                if item.data(0, TYPE_ROLE) and not item.isHidden():
                    found[item.data(0, TYPE_ROLE)] = section.text(0)
        return found

    def _filter(self, text: str) -> None:
        words = text.lower().split()
        for index in range(self.tree.topLevelItemCount()):
            section = self.tree.topLevelItem(index)
            for child in range(section.childCount()):
                item = section.child(child)
                item.setHidden(not all(w in item.text(0).lower() for w in words))

    def _choose_first(self) -> None:
        names = list(self.entries())
        if names:
            self.choose(names[0])

    def _activated(self, item: QTreeWidgetItem) -> None:
        name = item.data(0, TYPE_ROLE)
        if name:
            self.choose(name)

    def choose(self, name: str) -> None:
        self.chosen.emit(name)
        self.accept()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.search.clear()
        self.search.setFocus()
