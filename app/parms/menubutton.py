"""The menu beside a text parameter whose choices its scheduler lists (Houdini's menu
script: a Slurm partition, say). The choices are read when the menu is asked for, on a
thread of their own (a farm's command may take seconds), and a failure is said in the menu."""

from __future__ import annotations

import threading
from collections.abc import Callable

from PySide6.QtCore import QPoint, Signal
from PySide6.QtWidgets import QLineEdit, QMenu, QToolButton


class ParmMenuButton(QToolButton):
    ready = Signal(list, str)  # the choices, or why there are none

    def __init__(self, field: QLineEdit, fetch: Callable[[], list[str]], parent=None):
        super().__init__(parent)
        self.field, self.fetch = field, fetch
        self.setText("▾")
        self.setToolTip("Choose from what the scheduler lists (asked now)")
        self.menu_shown: QMenu | None = None
        self._thread: threading.Thread | None = None
        self.clicked.connect(self.ask)
        self.ready.connect(self._show)

    def ask(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self.setEnabled(False)
        self.setText("…")
        self._thread = threading.Thread(target=self._read, daemon=True,
                                        name="parm menu")
        self._thread.start()

    def _read(self) -> None:
        try:
            choices, why = [str(c) for c in self.fetch()], ""
        except Exception as exc:  # the scheduler's or the farm's: said in the menu
            choices, why = [], str(exc) or type(exc).__name__
        self.ready.emit(choices, why)

    def wait(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _show(self, choices: list, why: str) -> None:
        self.setEnabled(True)
        self.setText("▾")
        menu = QMenu(self)
        for choice in choices:
            menu.addAction(choice or "(the default)",
                           lambda choice=choice: self.field.setText(choice))
        if why or not choices:
            menu.addAction(why or "nothing to choose from").setEnabled(False)
        self.menu_shown = menu
        menu.popup(self.mapToGlobal(QPoint(0, self.height())))
