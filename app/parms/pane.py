"""The parameter pane of the selected node. The Python Scheduler's pane mimics Houdini's: Save
To Python on top, the Working Directory, then a tab per group of callback fields. Every other
node and scheduler type gets a form made from its parameter template.

A tab's editors are made when the tab is first shown, or when asked for by name
(``pane.widgets["onTick"]``, ``pane.editors[...]``, ``pane.goto``): the window's first paint
makes the editors of the tab in sight only."""

from __future__ import annotations

import builtins
import json

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from schedcore.parms import SPARE_KINDS, ParmTemplate, expand_vars
from schedcore.registry import scheduler_type
from schedcore.schedulers.python import FIELDS, GROUPS, compile_field, signature

from ..document import Document
from ..editor.code import CallbackEditor, CodeEditor
from .tabs import WrapTabs

_FIELDS = {f.name: f for f in FIELDS}


def field_check(field_name: str):
    """The live syntax check of a callback field: (line, message) or None."""
    field = _FIELDS[field_name]

    def check(text: str):
        try:
            compile_field("check", field, text, {"__builtins__": builtins})
        except SyntaxError as exc:
            return exc.lineno or 1, exc.msg
        return None
    return check


class Built(dict):
    """Parameter name -> its widget. A name whose tab is not made yet makes the tab when it
    is asked for (``[]``, ``in``, ``get``); ``made`` looks without making anything."""

    def __init__(self, make=None):
        super().__init__()
        self._make = make  # name -> None: makes the tab holding the name, if any

    def _made(self, key) -> bool:
        if not dict.__contains__(self, key) and self._make is not None:
            self._make(key)
        return dict.__contains__(self, key)

    def __missing__(self, key):
        if self._made(key):
            return dict.__getitem__(self, key)
        raise KeyError(key)

    def __contains__(self, key) -> bool:
        return self._made(key)

    def get(self, key, default=None):
        return dict.__getitem__(self, key) if self._made(key) else default

    def made(self, key):
        """The widget of ``key`` if it is made already, else None."""
        return dict.get(self, key)


class ParameterPane(QWidget):
    saveToPython = Signal(str)  # the Python Scheduler node to save

    def __init__(self, document: Document, parent=None):
        super().__init__(parent)
        self.document = document
        self.node = ""
        self.widgets: Built = Built()  # parameter name -> its editor
        self.editors: Built = Built()  # callback field name -> its CallbackEditor
        self._unmade: dict[int, object] = {}  # tab index -> what makes its page
        self._tab_of: dict[str, int] = {}  # parameter name -> the tab that holds it
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(6, 6, 6, 6)
        self._body: QWidget | None = None
        document.parmChanged.connect(self._changed_elsewhere)
        document.sparesChanged.connect(self._spares_changed)
        self.show_node("")

    def set_document(self, document: Document) -> None:
        self.document.parmChanged.disconnect(self._changed_elsewhere)
        self.document.sparesChanged.disconnect(self._spares_changed)
        self.document = document
        document.parmChanged.connect(self._changed_elsewhere)
        document.sparesChanged.connect(self._spares_changed)
        self.show_node("")

    def _spares_changed(self, node: str) -> None:
        if node == self.node:
            self.show_node(node)

    # -- building ------------------------------------------------------------------------
    def show_node(self, name: str) -> None:
        if self._body is not None:
            # hidden, not made parentless: a body made in this same pass of the event loop
            # has a show queued by its layout, which would open it as a window of its own
            self._layout.removeWidget(self._body)
            self._body.hide()
            self._body.deleteLater()
        self.node = name
        self.working_dir_label: QLabel | None = None  # the shown node's, if it has one
        self.widgets, self.editors = Built(self._make_tab_of), Built(self._make_tab_of)
        self._unmade, self._tab_of = {}, {}
        self._body = QWidget()
        layout = QVBoxLayout(self._body)
        layout.setContentsMargins(0, 0, 0, 0)
        if not name:
            hint = QLabel("Select a node to see its parameters.\n"
                          "Press Tab over the network to add one.")
            hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
            hint.setStyleSheet("color: #888;")
            layout.addWidget(hint)
        else:
            spec = self.document.spec(name)
            title = QLabel(f"<b>{name}</b> &nbsp; <span style='color:#888'>{spec.type}</span>")
            layout.addWidget(title)
            if spec.type == "pythonscheduler":
                self._python_scheduler(layout)
            else:
                self._generic(layout)
        self._layout.addWidget(self._body)

    def _python_scheduler(self, layout: QVBoxLayout) -> None:
        save = QPushButton("Save To Python")
        save.setToolTip("Save this node out to a Python file, along with its custom callback "
                        "entries.")
        save.clicked.connect(lambda: self.saveToPython.emit(self.node))
        layout.addWidget(save, 0, Qt.AlignmentFlag.AlignLeft)
        self.widgets["savetopython"] = save
        layout.addLayout(self._working_dir())
        tabs = WrapTabs()
        templates = {t.name: t for t in self.document.templates(self.node)}
        spare = set(self.document.spare_names(self.node))
        for group in GROUPS:
            fields = [templates[f.name] for f in FIELDS if f.group == group]
            self._lazy_tab(tabs, group, [t.name for t in fields],
                           lambda fields=fields: self._callback_page(fields))
        settings = [t for t in templates.values() if t.kind not in ("code", "action")
                    and t.name != "pdg_workingdir" and t.name not in spare]
        self._lazy_tab(tabs, "Settings", [t.name for t in settings],
                       lambda: self._settings_page(settings))
        self._lazy_tab(tabs, f"Spare Parameters ({len(spare)})",
                       [*spare, *(f"remove:{n}" for n in spare), "addspare"], self._spare_box)
        tabs.currentChanged.connect(self._make_tab)
        layout.addWidget(tabs, 1)
        self.tabs = tabs
        self._make_tab(tabs.currentIndex())

    def _lazy_tab(self, tabs: WrapTabs, title: str, names: list[str], make) -> None:
        """A tab whose page ``make()`` makes when it is first shown or one of ``names`` is
        asked for; a short window scrolls a tall page."""
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        index = tabs.addTab(scroll, title)
        self._unmade[index] = lambda: scroll.setWidget(make())
        self._tab_of.update(dict.fromkeys(names, index))

    def _make_tab(self, index: int) -> None:
        make = self._unmade.pop(index, None)
        if make is not None:
            make()

    def _make_tab_of(self, name: str) -> None:
        if name in self._tab_of:
            self._make_tab(self._tab_of[name])

    def _callback_page(self, fields: list[ParmTemplate]) -> QWidget:
        page = QWidget()
        column = QVBoxLayout(page)
        for template in fields:  # Schedule, the one that matters most, gets room
            column.addWidget(self._field(template), 3 if template.name == "onSchedule" else 1)
        return page

    def _settings_page(self, templates: list[ParmTemplate]) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        for template in templates:
            form.addRow(self._label(template), self._editor(template))
        return page

    def _working_dir(self) -> QHBoxLayout:
        row = QHBoxLayout()
        template = next(t for t in self.document.templates(self.node)
                        if t.name == "pdg_workingdir")
        edit = self._editor(template)
        browse = QPushButton("…")
        browse.setToolTip("Choose the working directory")
        browse.setFixedWidth(28)
        expanded = QLabel()
        expanded.setStyleSheet("color: #888;")
        # a long path must not widen the window: it is cut, and whole in the tooltip
        expanded.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        expanded.setMinimumWidth(60)

        def show_expanded() -> None:
            expanded.setText(expand_vars(edit.text(), self.document.network.hip))
            expanded.setToolTip(expanded.text())

        def choose() -> None:
            folder = QFileDialog.getExistingDirectory(self, "Working Directory",
                                                      expanded.text())
            if folder:
                edit.setText(folder)  # a change like any other: the document has it

        edit.textChanged.connect(show_expanded)
        browse.clicked.connect(choose)
        show_expanded()
        row.addWidget(self._label(template))
        row.addWidget(edit, 1)
        row.addWidget(browse)
        row.addWidget(expanded, 1)
        self.working_dir_label = expanded
        return row

    def _field(self, template: ParmTemplate) -> QWidget:
        box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 4, 0, 4)
        label = QLabel(f"<b>{template.label}</b> &nbsp; "
                       f"<span style='color:#888'>{template.name} Callback</span>")
        label.setToolTip(template.help)
        editor = CallbackEditor(signature(_FIELDS[template.name]), field_check(template.name))
        editor.setToolTip(template.help)
        editor.editor.setPlainText(str(self.document.parms(self.node).raw(template.name) or ""))
        set_parm = self._setter(template.name)
        editor.editor.textChanged.connect(lambda: set_parm(editor.editor.toPlainText()))
        editor.editor.run_check()
        column.addWidget(label)
        column.addWidget(editor, 1)
        editor.editor.setMinimumHeight(7 * editor.editor.fontMetrics().height())
        self.editors[template.name] = editor
        self.widgets[template.name] = editor.editor
        return box

    def _generic(self, layout: QVBoxLayout) -> None:
        form = QFormLayout()
        scheduler = self.document.is_scheduler(self.node)
        if not scheduler:
            form.addRow("Scheduler", self._scheduler_choice())
        spare = set(self.document.spare_names(self.node))
        for template in self.document.templates(self.node):
            if template.kind == "action" or template.name in spare:
                continue
            form.addRow(self._label(template), self._editor(template))
        holder = QWidget()
        column = QVBoxLayout(holder)
        column.addLayout(form)
        if scheduler:
            group = QGroupBox("Spare Parameters")
            QVBoxLayout(group).addWidget(self._spare_box())
            column.addWidget(group)
        column.addStretch(1)
        layout.addWidget(self._scrolled(holder), 1)

    @staticmethod
    def _scrolled(widget: QWidget) -> QScrollArea:
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(widget)
        return scroll

    # -- spare parameters ---------------------------------------------------------------------
    def _spare_box(self) -> QWidget:
        """The node's own parameters (Houdini's spare parameters): an editor and a remove
        button each, and a button to add one."""
        box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        form = QFormLayout()
        templates = {t.name: t for t in self.document.templates(self.node)}
        for name in self.document.spare_names(self.node):
            row = QHBoxLayout()
            row.addWidget(self._editor(templates[name]), 1)
            remove = QPushButton("−")
            remove.setFixedWidth(28)
            remove.setToolTip(f"Remove the spare parameter {name}")
            remove.clicked.connect(
                lambda _=False, n=name: self.document.remove_spare_parm(self.node, n))
            row.addWidget(remove)
            self.widgets[f"remove:{name}"] = remove
            form.addRow(self._label(templates[name]), row)
        column.addLayout(form)
        if not self.document.spare_names(self.node):
            hint = QLabel("No spare parameters: a scheduler module reads its node's own "
                          "parameters with self[\"name\"]; add them here.")
            hint.setWordWrap(True)
            hint.setStyleSheet("color: #888;")
            column.addWidget(hint)
        add = QPushButton("Add Spare Parameter…")
        add.setToolTip("Give this node a parameter its type does not declare")
        add.clicked.connect(self.add_spare)
        self.widgets["addspare"] = add
        column.addWidget(add, 0, Qt.AlignmentFlag.AlignLeft)
        column.addStretch(1)
        return box

    def add_spare(self) -> None:
        SpareParmDialog(self.document, self.node, self).open()

    def _scheduler_choice(self) -> QComboBox:
        combo = QComboBox()
        net = self.document.network
        combo.addItem(f"(default: {net.default_scheduler})", "")
        for spec in net.schedulers:
            combo.addItem(spec.name, spec.name)
        combo.setCurrentIndex(max(0, combo.findData(net.node(self.node).scheduler or "")))
        combo.currentIndexChanged.connect(
            lambda: self.document.set_scheduler_of(self.node, combo.currentData()))
        self.widgets["scheduler"] = combo
        return combo

    @staticmethod
    def _label(template: ParmTemplate) -> QLabel:
        label = QLabel(template.label or template.name)
        label.setToolTip(f"{template.name}: {template.help}" if template.help else template.name)
        return label

    def _editor(self, template: ParmTemplate) -> QWidget:
        """An editor of one parameter's kind, writing to the document as it changes."""
        value = self.document.parms(self.node).raw(template.name)
        set_parm = self._setter(template.name)
        if template.kind == "int":
            widget = QSpinBox()
            widget.setRange(-10**9, 10**9)
            widget.setValue(int(value or 0))
            widget.valueChanged.connect(set_parm)
        elif template.kind == "float":
            widget = QDoubleSpinBox()
            widget.setRange(-1e12, 1e12)
            widget.setDecimals(4)
            widget.setValue(float(value or 0))
            widget.valueChanged.connect(set_parm)
        elif template.kind == "bool":
            widget = QCheckBox()
            widget.setChecked(bool(value))
            widget.toggled.connect(set_parm)
        elif template.kind == "menu":
            widget = QComboBox()
            widget.addItems([str(v) for v in template.menu])
            widget.setCurrentText(str(value))
            widget.currentTextChanged.connect(set_parm)
        elif template.kind == "code":
            widget = CodeEditor()
            widget.setPlainText(str(value or ""))
            widget.setMinimumHeight(140)
            widget.textChanged.connect(lambda: set_parm(widget.toPlainText()))
        elif template.kind == "json":
            widget = QPlainTextEdit(json.dumps(value, indent=1))
            widget.setMinimumHeight(90)
            widget.setMaximumHeight(240)
            widget.textChanged.connect(lambda: self._json_changed(widget, template))
        else:
            widget = QLineEdit(str(value if value is not None else ""))
            widget.setCursorPosition(0)  # a long command opens at its start, not its end
            # every keystroke: Cook, Save and Quit see what is on screen (the document makes
            # one undo step of a field's run of edits)
            widget.textChanged.connect(set_parm)
        widget.setToolTip(template.help)
        self.widgets[template.name] = widget
        if isinstance(widget, QLineEdit) and template.name in self._menu_parms():
            return self._with_menu(widget, template.name)
        return widget

    def _menu_parms(self) -> frozenset[str]:
        """The parameters of the node shown whose choices its scheduler type lists."""
        if not self.document.is_scheduler(self.node):
            return frozenset()
        cls = scheduler_type(self.document.spec(self.node).type)
        return getattr(cls, "menu_parms", frozenset())

    def _with_menu(self, field: QLineEdit, parm: str) -> QWidget:
        """``field`` with a menu of the choices the node's scheduler lists for ``parm``,
        asked of a scheduler made as the node is now (its other parameters as set)."""
        from .menubutton import ParmMenuButton

        node, network = self.node, self.document.network
        spec = network.scheduler(node)

        def fetch() -> list[str]:
            cls = scheduler_type(spec.type)
            return cls.create(node, spec.values(), network.hip).parm_menu(parm)
        row = QWidget()
        line = QHBoxLayout(row)
        line.setContentsMargins(0, 0, 0, 0)
        line.addWidget(field, 1)
        button = self.widgets[f"menu:{parm}"] = ParmMenuButton(field, fetch)
        line.addWidget(button)
        return row

    def _setter(self, parm: str):
        """What an editor of ``parm`` of the node shown calls with its value. An editor of a
        node no longer shown (its page not yet deleted) writes nothing: its text may still
        change, as its highlighting arrives, after the pane moved on."""
        node = self.node

        def set_parm(value) -> None:
            if self.node == node:
                self.document.set_parm(node, parm, value)
        return set_parm

    def _json_changed(self, widget: QPlainTextEdit, template: ParmTemplate) -> None:
        try:
            value = json.loads(widget.toPlainText())
        except ValueError as exc:
            widget.setToolTip(f"not valid JSON: {exc}")
            widget.setStyleSheet("QPlainTextEdit { border: 1px solid #c0392b; }")
            return
        problem = template.check(value)
        widget.setToolTip(problem or template.help)
        widget.setStyleSheet("QPlainTextEdit { border: 1px solid #c0392b; }" if problem else "")
        if problem is None:
            self.document.set_parm(self.node, template.name, value)

    def goto(self, field: str, line: int) -> None:
        """Show callback ``field`` at ``line`` (when an error names them)."""
        editor = self.editors.get(field)
        if editor is None:
            return
        self.tabs.setCurrentIndex(GROUPS.index(_FIELDS[field].group))
        editor.editor.goto_line(line)

    # -- changes made elsewhere (the console, Load From Python) -----------------------------
    def _changed_elsewhere(self, node: str, parm: str) -> None:
        widget = self.widgets.made(parm)  # one not made yet shows the value when it is
        if node != self.node or widget is None:
            return
        value = self.document.parms(node).raw(parm)
        widget.blockSignals(True)
        try:
            if isinstance(widget, QPlainTextEdit) and not isinstance(widget, CodeEditor):
                text = json.dumps(value, indent=1)
                if widget.toPlainText() != text:
                    widget.setPlainText(text)
            elif isinstance(widget, QPlainTextEdit):
                if widget.toPlainText() != value:
                    widget.setPlainText(str(value or ""))
                    widget.run_check()
            elif isinstance(widget, QLineEdit):
                if widget.text() != str(value):  # the field's own edit: keep its cursor
                    widget.setText(str(value))
            elif isinstance(widget, (QSpinBox, QDoubleSpinBox)):
                if widget.value() != value:  # typing "12" passes 1: leave the text alone
                    widget.setValue(value)
            elif isinstance(widget, QCheckBox):
                widget.setChecked(bool(value))
            elif isinstance(widget, QComboBox) and parm != "scheduler":
                widget.setCurrentText(str(value))
        finally:
            widget.blockSignals(False)
        if parm == "pdg_workingdir" and self.working_dir_label is not None:
            self.working_dir_label.setText(expand_vars(str(value), self.document.network.hip))


class SpareParmDialog(QDialog):
    """Name, label, type (and a menu's choices) of a new spare parameter; a name that will
    not do keeps the dialog open and says why."""

    def __init__(self, document: Document, node: str, parent=None):
        super().__init__(parent)
        self.document, self.node = document, node
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setWindowTitle(f"Add Spare Parameter to {node}")
        form = QFormLayout(self)
        self.name = QLineEdit()
        self.name.setPlaceholderText("rush_title")
        self.label = QLineEdit()
        self.label.setPlaceholderText("Rush Title")
        self.kind = QComboBox()
        self.kind.addItems(SPARE_KINDS)
        self.menu = QLineEdit()
        self.menu.setPlaceholderText("low, normal, high")
        self.menu.setEnabled(False)
        self.kind.currentTextChanged.connect(lambda k: self.menu.setEnabled(k == "menu"))
        self.error = QLabel()
        self.error.setStyleSheet("color: #c0392b;")
        self.error.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        for label, widget in (("Name", self.name), ("Label", self.label), ("Type", self.kind),
                              ("Menu choices", self.menu)):
            form.addRow(label, widget)
        form.addRow(self.error)
        form.addRow(buttons)

    def accept(self) -> None:
        menu = [c.strip() for c in self.menu.text().split(",") if c.strip()]
        try:
            self.document.add_spare_parm(self.node, self.name.text().strip(),
                                         self.kind.currentText(), self.label.text().strip(),
                                         menu)
        except ValueError as exc:
            self.error.setText(str(exc))
            return
        super().accept()


__all__ = ["Built", "ParameterPane", "SpareParmDialog", "field_check"]
