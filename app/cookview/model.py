"""The work items table's model: a thin adapter over the cook's items, filtered by state, node
and text. It keeps no state of its own beyond which items pass the filter."""

from __future__ import annotations

import json

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt
from PySide6.QtGui import QColor

from schedcore.workitem import WorkItem

COLUMNS = ["id", "name", "node", "state", "duration", "job", "host", "command", "attributes",
           "outputs", "log URI", "status URI"]
STATE_COLORS = {  # Houdini-like
    "Waiting": "#8c8c8c", "Uncooked": "#5a5a5a", "Scheduled": "#d4a72c", "Cooking": "#2c8fd4",
    "CookedSuccess": "#3fb950", "CookedCache": "#2f7d3a", "CookedFail": "#e5534b",
    "CookedCancel": "#b07adf", "Dirty": "#5a5a5a", "Undefined": "#5a5a5a",
}


def state_text(item: WorkItem) -> str:
    """The state, and while it cooks what its job reported: "Cooking 40 %: rendering"."""
    text = item.state.name
    if item.state.is_final:
        return text
    if item.cook_percent is not None:
        text += f" {item.cook_percent:.0f} %"
    if item.custom_state:
        text += f": {item.custom_state}"
    return text


def attributes_text(item: WorkItem) -> str:
    parts = []
    for name in item.attribNames():
        values = item.attribArray(name) or []
        parts.append(f"{name}={values[0] if len(values) == 1 else values}")
    return ", ".join(parts)


class ItemTableModel(QAbstractTableModel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.all: list[WorkItem] = []
        self.rows: list[WorkItem] = []
        self.state = self.node = self.text = ""

    # -- feeding -------------------------------------------------------------------------
    def reset(self, items: list[WorkItem]) -> None:
        self.beginResetModel()
        self.all = list(items)
        self.rows = [i for i in self.all if self._passes(i)]
        self.endResetModel()

    def update(self, new: list[WorkItem], changed_ids: list[int]) -> None:
        """New items are appended; changed ones repaint. With a state filter, a change can
        move an item in or out: then the rows are filtered again."""
        self.all.extend(new)
        if self.state and changed_ids:
            self.reset(self.all)
            return
        added = [i for i in new if self._passes(i)]
        if added:
            self.beginInsertRows(QModelIndex(), len(self.rows), len(self.rows) + len(added) - 1)
            self.rows.extend(added)
            self.endInsertRows()
        if changed_ids and self.rows:
            self.dataChanged.emit(self.index(0, 0),
                                  self.index(len(self.rows) - 1, len(COLUMNS) - 1))

    def set_filter(self, state: str = "", node: str = "", text: str = "") -> None:
        self.state, self.node, self.text = state, node, text.lower()
        self.reset(self.all)

    def _passes(self, item: WorkItem) -> bool:
        if self.state and item.state.name != self.state:
            return False
        if self.node and item.node != self.node:
            return False
        if self.text:
            haystack = f"{item.name} {item.command} {item.reason} {attributes_text(item)}"
            return self.text in haystack.lower()
        return True

    # -- Qt's model interface ------------------------------------------------------------
    def rowCount(self, parent=None) -> int:
        return 0 if parent is not None and parent.isValid() else len(self.rows)

    def columnCount(self, parent=None) -> int:
        return 0 if parent is not None and parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or index.row() >= len(self.rows):
            return None
        item = self.rows[index.row()]
        column = COLUMNS[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self.cell_text(item, column)
        if role == Qt.ItemDataRole.ForegroundRole and column == "state":
            return QColor(STATE_COLORS.get(item.state.name, "#cccccc"))
        if role == Qt.ItemDataRole.ToolTipRole and column in ("state", "name") and item.reason:
            return item.reason
        return None

    @staticmethod
    def cell_text(item: WorkItem, column: str) -> str:
        """What the table shows of ``item`` in ``column``."""
        try:
            if column == "id":
                return str(item.id)
            if column == "duration":
                return f"{item.cook_duration:.2f}s" if item.cook_duration else ""
            if column == "attributes":
                return attributes_text(item)
            if column == "outputs":
                return json.dumps([o.path for o in item.outputFiles])[1:-1]
            if column == "state":
                return state_text(item)
            if column in ("job", "host"):  # the farm's job id (a pid here), where it ran
                usage = item.usage
                return "" if usage is None else usage.native_id if column == "job" \
                    else usage.host
            return str(getattr(item, {"log URI": "log_uri", "status URI": "status_uri"}
                               .get(column, column)))
        except RuntimeError:  # the engine changed the item meanwhile: next repaint
            return ""
