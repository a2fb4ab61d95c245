"""The studio's main window: the network panel beside the parameter pane, like Houdini's TOP
network and its parameters.

The window opens with what its first paint shows; a panel that is not in sight (the Scheduler
Check, the Python Shell, Submitted Jobs, the Log Viewer, the module files' source view) and a
command's own modules (the conformance kit, Save To Python, Submit As Job) are made or
imported when first used."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, Qt, QUrl
from PySide6.QtGui import QAction, QCursor, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QPlainTextEdit,
    QSplitter,
    QTextEdit,
)

from schedcore import network as network_file
from schedcore import registry
from schedcore.errors import SchedcoreError

from . import about
from .bridge import CookBridge
from .console.shell import ShellDock
from .cookview.panel import CookViewer
from .document import EXAMPLE, Document
from .logview import LogViewer, open_link
from .network.panel import NetworkPanel
from .parms.pane import ParameterPane
from .problems import ProblemsPanel, field_target
from .settings import open_settings

if TYPE_CHECKING:
    from .network.tabmenu import TabMenu

MAX_RECENT = 8
NETWORK_EXTENSION = ".top.json"


class MainWindow(QMainWindow):
    def __init__(self, document: Document):
        super().__init__()
        self.document = document
        self.settings = open_settings()
        self.panel = NetworkPanel(document)
        self.pane = ParameterPane(document)
        self._tab_menu: TabMenu | None = None  # made when first opened (see tab_menu)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.panel)
        self.splitter.addWidget(self.pane)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setSizes([640, 760])  # the node editor nearly half, at any width
        self.setCentralWidget(self.splitter)
        self.resize(1400, 840)
        self._log_viewer: LogViewer | None = None  # made when first needed (see log_viewer)
        self.source_view = None  # the module files' SourceView, made when first needed
        self.setWindowIcon(about.icon())
        self.bridge = CookBridge(self)
        self.viewer = CookViewer(self.bridge)
        self.problems = ProblemsPanel()
        self.shell = ShellDock(self.console_namespace, self)
        self._submitted = None  # made when its dock is first shown (see submitted)
        self._check_panel = None  # made when its dock is first shown (see check_panel)
        self._submitted_views: dict = {}  # status URI -> its SubmittedCookView
        self._docks()
        self._menus()
        self.statusBar()  # there from the start: its first message moves no pane
        self._cooking()
        self.panel.nodeSelected.connect(self.pane.show_node)
        self.panel.tabPressed.connect(self.open_tab_menu)
        self.panel.deletePressed.connect(self.delete_selected)
        self.panel.nodesMoved.connect(self.document.move_nodes)
        self.panel.connectRequested.connect(self.connect_nodes)
        self.panel.renameRequested.connect(self.rename_node)
        self.panel.disconnectRequested.connect(lambda *args: self.document.disconnect(*args))
        self.panel.cookRequested.connect(lambda name: self.cook(name))
        self.panel.dirtyRequested.connect(self.dirty_node)
        self.panel.showItemsRequested.connect(self.show_items_of)
        self.panel.itemClicked.connect(lambda item_id: self.go_to(("item", item_id)))
        self.pane.saveToPython.connect(self.save_to_python)
        self.viewer.openInside.connect(self.show_inside)
        self._watch(document)
        self._remember(document.path)
        QApplication.instance().installEventFilter(self)  # Tab follows the mouse (eventFilter)
        self._restore_layout()
        self.select_first()
        self._restore_view()

    def eventFilter(self, watched, event) -> bool:
        """Tab over the network opens the TAB menu, wherever the keyboard focus is (a field
        of the pane just typed in), as in Houdini: that key follows the mouse. A code editor
        keeps its Tab (an indent)."""
        if event.type() == QEvent.Type.KeyPress and event.key() == Qt.Key.Key_Tab \
                and not event.modifiers() and self.isActiveWindow() \
                and not isinstance(QApplication.focusWidget(), (QPlainTextEdit, QTextEdit)) \
                and QApplication.activePopupWidget() is None and not self.panel.hasFocus():
            viewport = self.panel.viewport()
            if viewport.rect().contains(viewport.mapFromGlobal(QCursor.pos())):
                self.panel.setFocus()
                self.open_tab_menu()
                return True
        return super().eventFilter(watched, event)

    def open_link(self, url: QUrl) -> None:
        """A log or status URI: the desktop's viewer, else the studio's Log Viewer."""
        open_link(url, self.show_inside)

    def show_inside(self, url: QUrl) -> None:
        """``url`` in the studio's Log Viewer."""
        self.log_viewer.show_url(url)

    @property
    def log_viewer(self) -> LogViewer:
        """The Log Viewer (its own window), made the first time a link opens in it."""
        if self._log_viewer is None:
            self._log_viewer = LogViewer(self)
        return self._log_viewer

    # -- the layout, as the user left it ----------------------------------------------------
    LAYOUT = {"window/geometry": ("saveGeometry", "restoreGeometry"),
              "window/state": ("saveState", "restoreState")}

    def _layout_parts(self) -> dict:
        parts = {"window/splitter": self.splitter}
        for n, splitter in enumerate(self.viewer.splitters):
            parts[f"cookviewer/splitter{n}"] = splitter
        return parts

    def _restore_layout(self) -> None:
        for key, (_save, restore) in self.LAYOUT.items():
            value = self.settings.value(key)
            if value is not None:
                getattr(self, restore)(value)
        for key, widget in self._layout_parts().items():
            value = self.settings.value(key)
            if value is not None:
                widget.restoreState(value)

    # -- each network's view (zoom and pan), as the user left it --------------------------
    VIEWS_KEY, VIEWS_KEPT = "network/views", 50

    def _views(self) -> dict:
        try:
            views = json.loads(str(self.settings.value(self.VIEWS_KEY, "{}")))
        except ValueError:
            return {}
        return views if isinstance(views, dict) else {}

    def _keep_view(self) -> None:
        state = self.panel.view_state()
        if not self.document.path or state is None:
            return
        views = self._views()
        views.pop(self.document.path, None)  # the last one kept last: the oldest go first
        views[self.document.path] = state
        self.settings.setValue(self.VIEWS_KEY, json.dumps(
            dict(list(views.items())[-self.VIEWS_KEPT:])))

    def _restore_view(self) -> None:
        state = self._views().get(self.document.path) if self.document.path else None
        if state is not None:
            self.panel.restore_view(state)

    def save_layout(self) -> None:
        self._keep_view()
        for key, (save, _restore) in self.LAYOUT.items():
            self.settings.setValue(key, getattr(self, save)())
        for key, widget in self._layout_parts().items():
            self.settings.setValue(key, widget.saveState())
        self.settings.sync()

    def select_first(self) -> None:
        """Start on the first Python Scheduler (the reason to be here), else the first node."""
        net = self.document.network
        python = [s.name for s in net.schedulers if s.type == "pythonscheduler"]
        first = python or [s.name for s in net.schedulers] or net.node_names()
        if first:
            self.panel.select(first[0])

    def _docks(self) -> None:
        viewer = QDockWidget("Cook Viewer", self, objectName="cookviewer")
        viewer.setWidget(self.viewer)
        problems = QDockWidget("Problems", self, objectName="problems")
        problems.setWidget(self.problems)
        submitted = QDockWidget("Submitted Jobs", self, objectName="submitted")
        submitted.setWidget(QLabel("Submitted Jobs is made when first shown."))
        submitted.visibilityChanged.connect(lambda visible: visible and self.submitted)
        self.check_dock = QDockWidget("Scheduler Check", self, objectName="schedulercheck")
        self.check_dock.setWidget(QLabel("The Scheduler Check is made when first shown."))
        self.check_dock.visibilityChanged.connect(lambda visible: visible and self.check_panel)
        for dock in (viewer, problems, self.shell, submitted, self.check_dock):
            self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
        self.tabifyDockWidget(viewer, self.check_dock)
        self.tabifyDockWidget(viewer, problems)
        self.tabifyDockWidget(viewer, self.shell)
        self.tabifyDockWidget(viewer, submitted)
        self.submitted_dock = submitted
        viewer.raise_()
        self.resizeDocks([viewer], [300], Qt.Orientation.Vertical)
        self.viewer_dock, self.problems_dock = viewer, problems

    def show_pane(self, dock: QDockWidget) -> None:
        """A pane shown in front of those it shares its place with, closed or not."""
        dock.show()
        dock.raise_()

    # -- menus ---------------------------------------------------------------------------
    def _menus(self) -> None:
        file = self.menuBar().addMenu("&File")
        for text, key, slot in (("&New", QKeySequence.StandardKey.New, self.new_network),
                                ("&Open…", QKeySequence.StandardKey.Open, self.open_dialog),
                                ("&Save", QKeySequence.StandardKey.Save, self.save),
                                ("Save &As…", QKeySequence.StandardKey.SaveAs, self.save_as)):
            action = QAction(text, self, shortcut=key)
            action.triggered.connect(slot)
            file.addAction(action)
        self.recent_menu = file.addMenu("Open &Recent")
        file.addSeparator()
        self.report_action = QAction(
            "&Export Cook Report…", self, enabled=False,
            toolTip="The last cook as one HTML page: its timeline, figures by node, resources, "
                    "failures with their logs' ends, and the nodes' earlier cooks")
        self.report_action.triggered.connect(lambda: self.export_report())
        file.addAction(self.report_action)
        file.addSeparator()
        self.quit_action = QAction("&Quit", self)
        self.quit_action.setShortcuts(_keys(QKeySequence.StandardKey.Quit, "Ctrl+Q"))
        self.quit_action.triggered.connect(self.close)
        file.addAction(self.quit_action)
        edit = self.menuBar().addMenu("&Edit")
        self.undo_action = QAction("&Undo", self, enabled=False)
        self.undo_action.setShortcuts(_keys(QKeySequence.StandardKey.Undo, "Ctrl+Z"))
        self.undo_action.triggered.connect(lambda: self.document.undo())
        self.redo_action = QAction("&Redo", self, enabled=False)
        self.redo_action.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        self.redo_action.triggered.connect(lambda: self.document.redo())
        delete = QAction("&Delete Node  (Del)", self)
        delete.triggered.connect(self.delete_selected)
        rename = QAction("Re&name Node…  (F2)", self)
        rename.triggered.connect(lambda: self.panel.selected() and
                                 self.panel.edit_name(self.panel.selected()))
        edit.addActions([self.undo_action, self.redo_action])
        edit.addSeparator()
        edit.addActions([rename, delete])
        types = self.menuBar().addMenu("&Types")
        add = QAction("&Add Node…  (Tab)", self)
        add.triggered.connect(self.open_tab_menu)
        reload_types = QAction("&Reload Types", self, shortcut="Ctrl+R")
        reload_types.triggered.connect(lambda: self.reload_types())  # not triggered's bool
        check_action = QAction("&Check Scheduler", self, toolTip="Run the selected scheduler "
                               "node through the conformance kit's scenarios, in the background")
        check_action.triggered.connect(self.check_scheduler)
        types.addActions([add, reload_types, check_action])
        view = self.menuBar().addMenu("&View")  # the keys work over the network alone
        view.addAction("Frame &All\tA", self.panel.frame_all)
        view.addAction("Frame &Selected\tF", self.panel.frame_selected)
        # the window owns it: PySide6 6.9 deleted a submenu made by addMenu(title)
        self.panes_menu = panes = QMenu("&Panes", self)  # a closed pane comes back, in front
        view.addMenu(panes)
        for dock, label in ((self.viewer_dock, "Cook &Viewer"), (self.problems_dock, "&Problems"),
                            (self.shell, "Python &Shell"), (self.submitted_dock, "Submitted &Jobs"),
                            (self.check_dock, "Scheduler &Check")):
            panes.addAction(label, lambda dock=dock: self.show_pane(dock))
        cook = self.menuBar().addMenu("&Cook")
        toolbar = self.addToolBar("Cook")
        toolbar.setObjectName("cooktoolbar")
        self.cook_action = QAction("Cook", self, shortcut="F5",
                                   toolTip="Cook the whole network (F5)")
        self.cook_selected_action = QAction("Cook Selected", self, shortcut="Shift+F5",
                                            toolTip="Cook up to the selected node (Shift+F5)")
        self.resume_action = QAction(
            "Resume Cook", self, shortcut="Ctrl+F5",
            toolTip="Go on from the last cook's journal: items it cooked whose outputs are "
                    "on disk are not run again (Ctrl+F5)")
        self.resume_action.triggered.connect(lambda: self.cook(resume=True))
        self.submit_action = QAction(
            "Submit As Job", self,
            toolTip="Save the network and cook it as one standalone job that goes on when "
                    "the studio closes; its status URI tells how it goes")
        self.submit_action.triggered.connect(self.submit_as_job)
        self.cancel_action = QAction("Cancel", self, shortcut="Esc", enabled=False,
                                     toolTip="Cancel the cook; running jobs are killed (Esc)")
        self.cook_action.triggered.connect(lambda: self.cook())
        self.cook_selected_action.triggered.connect(
            lambda: self.cook(self.panel.selected() or None))
        self.cancel_action.triggered.connect(self.bridge.cancel)
        for action in (self.cook_action, self.cook_selected_action, self.resume_action,
                       self.submit_action, self.cancel_action):
            cook.addAction(action)
            toolbar.addAction(action)
        help_menu = self.menuBar().addMenu("&Help")
        help_menu.addAction("&About schedstudio", lambda: about.show_about(self))
        self._fill_recent()

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        for path in self.recent_files():
            action = self.recent_menu.addAction(path)
            action.triggered.connect(lambda checked=False, p=path: self.open_path(p))
        self.recent_menu.setEnabled(bool(self.recent_files()))

    def recent_files(self) -> list[str]:
        value = self.settings.value("recent", [])
        return [value] if isinstance(value, str) else list(value or [])

    def _remember(self, path: str) -> None:
        if not path:
            return
        path = str(Path(path).resolve())
        recent = [path] + [p for p in self.recent_files() if p != path]
        self.settings.setValue("recent", recent[:MAX_RECENT])
        self._fill_recent()

    # -- the document --------------------------------------------------------------------
    def _watch(self, document: Document) -> None:
        document.dirtyChanged.connect(self._title)
        document.pathChanged.connect(self._title)
        document.historyChanged.connect(self._history)
        self._history()
        self._title()

    def _history(self) -> None:
        """The Edit menu says what Undo and Redo would do ("Undo Delete render1")."""
        for action, verb, step in ((self.undo_action, "&Undo", self.document.undo_text()),
                                   (self.redo_action, "&Redo", self.document.redo_text())):
            action.setText(f"{verb} {step}" if step else verb)
            action.setEnabled(bool(step))

    def _title(self, *_args) -> None:
        name = Path(self.document.path).name if self.document.path else "untitled"
        self.setWindowTitle(f"{name}{' *' if self.document.dirty else ''} — schedstudio")

    def set_document(self, document: Document) -> None:
        self.bridge.cancel()  # the old network's cook: its items are no longer shown
        self.bridge.wait(30)
        self.bridge.reset()
        self.viewer.reset()
        self.report_action.setEnabled(False)  # the last cook was another network's
        self._keep_view()
        self.document = document
        self.panel.set_document(document)
        self.pane.set_document(document)
        self._watch(document)
        self._remember(document.path)
        self.select_first()
        self._restore_view()  # after the selection, which would scroll to its node

    def new_network(self) -> None:
        """An empty network, cooked by a Local Scheduler until told otherwise."""
        if self._may_discard():
            empty = {"format": network_file.FORMAT, "version": network_file.VERSION}
            self.set_document(Document(network_file.from_json(empty)))

    def open_dialog(self) -> None:
        if not self._may_discard():
            return
        start = str(Path(self.document.path).parent) if self.document.path else ""
        path, _ = QFileDialog.getOpenFileName(self, "Open network", start,
                                              "TOP networks (*.top.json);;All files (*)")
        if path:
            self.open_path(path, asked=True)

    def open_path(self, path: str, asked: bool = False) -> bool:
        """Open the network at ``path`` in place of this one, once unsaved changes are saved
        or given up (``asked``: the caller asked already)."""
        if not asked and not self._may_discard():
            return False
        try:
            document = Document.open(path)
        except SchedcoreError as exc:
            QMessageBox.warning(self, "Cannot open the network", str(exc))
            return False
        self.set_document(document)
        return True

    def save(self) -> bool:
        if self.document.path and Path(self.document.path).resolve() == EXAMPLE:
            return self.save_as("The example that comes with schedstudio is not changed: "
                                "save your copy of it somewhere of yours")
        if not self.document.path:
            return self.save_as("This network has no file yet: choose one")
        return self._save_to(self.document.path)

    def save_as(self, why: str = "") -> bool:
        """Save to a file the user chooses; ``why`` (Save, not Save As, asked for it) is said
        in the status bar and the dialog's title while it is open."""
        start = self.document.path
        if start and Path(start).resolve() == EXAMPLE:
            start = str(Path.home() / Path(start).name)  # not into the installation
        if why:
            self.statusBar().showMessage(why)
        title = f"Save network as: {why}" if why else "Save network as"
        path, _ = QFileDialog.getSaveFileName(self, title, start, "TOP networks (*.top.json)")
        if why:
            self.statusBar().clearMessage()
        if not path:
            return False
        named = with_extension(path)
        if named != path and Path(named).exists() and QMessageBox.question(
                self, "Replace the file?", f"{named} exists already. Replace it?") \
                != QMessageBox.StandardButton.Yes:
            return False  # the dialog asked about the name typed, not this one
        return self._save_to(named)

    def _save_to(self, path: str) -> bool:
        untitled = not self.document.path
        try:
            self.document.save(path)
        except OSError as exc:
            QMessageBox.warning(self, "Not saved", f"{path}: {exc.strerror or exc}\n"
                                                   f"The file on disk is unchanged.")
            return False
        if untitled:  # $HIP is the file's folder now, no longer the untitled cook's
            self.document.network.hip = ""
        self._remember(path)
        self.statusBar().showMessage(f"Saved {path}", 5000)
        return True

    def _may_discard(self) -> bool:
        if not self.document.dirty:
            return True
        answer = QMessageBox.question(
            self, "Unsaved changes", "The network has unsaved changes. Save them?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel)
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard

    def closeEvent(self, event) -> None:
        # the module file's edits first: it closes (asking) before the network is asked about
        if not self._may_discard() or self.source_view is not None and \
                not self.source_view.close():
            event.ignore()
            return
        self.save_layout()
        self.bridge.cancel()
        self.bridge.wait(30)
        if self._check_panel is not None:  # never shown: nothing runs (nor is imported)
            self._check_panel.stop(wait=60)  # each scenario is bounded: it ends its cook first
        self.shell.stop()
        if self._log_viewer is not None:
            self._log_viewer.close()
        event.accept()

    # -- nodes and types -------------------------------------------------------------------
    @property
    def tab_menu(self) -> TabMenu:
        """The TAB menu, made the first time it is opened or asked for."""
        if self._tab_menu is None:
            from .network.tabmenu import TabMenu

            self._tab_menu = TabMenu(self)
            self._tab_menu.chosen.connect(self.add_node)
            self._tab_menu.failureChosen.connect(lambda *failed: self.go_to(("file", *failed)))
        return self._tab_menu

    def _refresh_tab_menu(self) -> None:
        if self._tab_menu is not None:  # one made later lists the types as they are then
            self._tab_menu.refresh()

    def open_tab_menu(self) -> None:
        self.tab_menu.refresh()
        self.tab_menu.popup(self.panel.menu_point())

    def show_items_of(self, node: str) -> None:
        """The Cook Viewer, showing ``node``'s items only."""
        self.show_pane(self.viewer_dock)
        index = self.viewer.node_filter.findData(node)
        if index >= 0:
            self.viewer.node_filter.setCurrentIndex(index)
        else:
            self.statusBar().showMessage(f"{node} has no work items yet: cook it first", 5000)

    def connect_nodes(self, source: str, target: str) -> None:
        try:
            self.document.connect(source, target)
        except ValueError as exc:
            self.statusBar().showMessage(f"Not connected: {exc}", 8000)

    def rename_node(self, old: str, new: str) -> None:
        try:
            self.document.rename_node(old, new)
        except ValueError as exc:
            self.statusBar().showMessage(f"{old} not renamed: {exc}", 8000)
            return
        self.statusBar().showMessage(f"Renamed {old} to {new} (Ctrl+Z calls it {old} again)",
                                     5000)

    def dirty_node(self, node: str, delete_results: bool = False) -> bool:
        """Houdini's Dirty: the last cook's items of ``node`` and of the nodes below it are
        forgotten (their dots, and their records in the cook journal, so Resume Cook runs
        them again); with ``delete_results``, ``node``'s output files are deleted first,
        once the user has seen them listed. False when nothing was done."""
        import sqlite3

        from schedcore import journal as journal_file

        from . import results

        engine = self.bridge.engine
        if self.bridge.cooking or engine is None:
            self.statusBar().showMessage(
                f"{node}: nothing to dirty: " + ("wait for the cook to end, or cancel it"
                                                 if self.bridge.cooking else
                                                 "it has not been cooked since the studio "
                                                 "started"), 8000)
            return False
        cooked_as = self.panel.cooked_name(node)
        below = {self.panel.cooked_name(name) for name in self.document.downstream_of(node)}
        if delete_results:
            paths = results.output_paths(self.bridge.items, cooked_as, engine.journal_path)
            if not results.ask_and_delete(self, node, paths):
                return False
        try:
            dropped = journal_file.forget_nodes(engine.journal_path, below)
        except (OSError, sqlite3.Error) as exc:
            QMessageBox.warning(self, "Not dirtied", f"The cook journal {engine.journal_path} "
                                f"cannot be changed: {exc}\nNothing was dirtied.")
            return False
        self.bridge.forget_nodes(below)
        self.statusBar().showMessage(
            f"Dirtied {', '.join(sorted(below))}: {dropped} items forgotten; Resume Cook "
            f"runs them again", 8000)
        return True

    def delete_selected(self) -> None:
        names = self.panel.selected_names()
        if names:
            self.document.remove_nodes(names)
            self.statusBar().showMessage(
                f"Deleted {', '.join(names)} (Ctrl+Z brings "
                f"{'them' if len(names) > 1 else 'it'} back)", 5000)

    def add_node(self, type_name: str) -> None:
        selected = self.panel.selected()
        inputs = [selected] if selected and not self.document.is_scheduler(selected) \
            and not registry.default().types.get(type_name) else []
        try:
            name = self.document.add_node(type_name, inputs)
        except KeyError as exc:
            QMessageBox.warning(self, "Cannot add the node", str(exc.args[0]))
            return
        self.panel.select(name)

    def reload_types(self, said: str = "") -> None:
        changed = registry.default().reload()
        self._refresh_tab_menu()
        failures = registry.default().failures
        self.problems.show_load_errors(failures)
        self.statusBar().showMessage(
            said + ("Types reloaded" if changed else "No type file changed")
            + (f"; {len(failures)} files failed to load (see the TAB menu)" if failures
               else ""), 8000)

    def _module_saved(self, path: str) -> None:
        """A module file saved in the source view: its types are reloaded at once."""
        name = Path(path).name
        if any(Path(path).resolve().parent == folder.resolve()
               for folder in registry.default().folders()):
            self.reload_types(f"Saved {name}. ")
        else:  # a module that scheduler files import: Python keeps the one it imported
            self.statusBar().showMessage(
                f"Saved {name}. It is not a file of the types folders: the scheduler files "
                f"that import it load it again when the studio starts again", 15000)

    @property
    def submitted(self):
        """The Submitted Jobs panel, made the first time it is shown or used: it reads the
        status of each job it lists, and again every second."""
        if self._submitted is None:
            from .submitted import SubmittedPanel

            self._submitted = SubmittedPanel(self.settings)
            self._submitted.openRequested.connect(self.show_submitted_cook)
            self.submitted_dock.setWidget(self._submitted)
        return self._submitted

    def show_submitted_cook(self, uri: str):
        """A submitted cook in a window of its own (one per cook, brought to the front)."""
        from .submittedcook import SubmittedCookView

        view = self._submitted_views.get(uri)
        if view is None:
            view = self._submitted_views[uri] = SubmittedCookView(uri, self)
            view.setWindowFlag(Qt.WindowType.Window)
            view.openLink.connect(self.open_link)
            view.openNetwork.connect(lambda path: self.open_path(path))
        else:
            view.refresh()
        view.show()
        view.raise_()
        view.activateWindow()
        return view

    @property
    def check_panel(self):
        """The Scheduler Check panel, made the first time it is shown or used: it imports the
        conformance kit, which the window does not need to open."""
        if self._check_panel is None:
            from .check.panel import CheckPanel

            self._check_panel = CheckPanel()
            self._check_panel.activated.connect(self.go_to)
            self.check_dock.setWidget(self._check_panel)
        return self._check_panel

    def check_scheduler(self) -> bool:
        """Types > Check Scheduler: the selected scheduler node, as it is on screen."""
        name = self.panel.selected()
        if not name or not self.document.is_scheduler(name):
            self.statusBar().showMessage("Select a scheduler node to check", 8000)
            return False
        from schedcore import check

        try:
            target = check.from_spec(self.document.spec(name), self.document.path)
        except check.TargetError as exc:
            self.statusBar().showMessage(str(exc), 15000)
            return False
        self.show_pane(self.check_dock)
        return self.check_panel.start(target)

    def save_to_python(self, node: str) -> None:
        folder = registry.user_types_folder()
        folder.mkdir(parents=True, exist_ok=True)
        # the form is the file type chosen in the dialog; the first is the default
        forms = {"Scheduler module for schedcore (*.py)": "schedcore",
                 "Scheduler module for Houdini's pdg/types (*.py)": "houdini"}
        path, chosen = QFileDialog.getSaveFileName(self, f"Save {node} To Python",
                                                   str(folder / f"{node}.py"),
                                                   ";;".join(forms))
        if not path:
            return
        if not path.endswith(".py"):  # the Scheduler Factory loads .py files only
            path += ".py"
        from schedcore import codegen

        try:
            codegen.save_python(self.document.network, node, path,
                                forms.get(chosen, "schedcore"))
        except (SchedcoreError, OSError) as exc:
            QMessageBox.warning(self, "Not saved", str(exc))
            self._jump_to_error(exc)
            return
        self.statusBar().showMessage(f"Saved {path}: {self._registered(path)}", 15000)

    def _registered(self, path: str) -> str:
        """Load the saved module as the Scheduler Factory would, and say what it made."""
        where = Path(path).resolve()
        reg = registry.default()
        if any(where.parent == f.resolve() for f in reg.folders()):
            reg.reload()
        else:
            try:
                registry.register_file(where)
            except ImportError as exc:
                return f"it did not load: {exc}"
        self._refresh_tab_menu()
        failures = [f for f in reg.failures if Path(f.file).resolve() == where]
        if failures:
            return f"it did not load: {failures[0]}"
        names = [t.name for t in reg.types.values() if Path(t.origin).resolve() == where]
        return (f"the scheduler type {', '.join(map(repr, names))} is in the TAB menu" if names
                else "it registers no scheduler type")

    def _jump_to_error(self, exc: Exception) -> None:
        problems = getattr(exc, "problems", None)
        if problems:
            field, line, _message = problems[0]
            self.pane.goto(field, line)


    # -- cooking -----------------------------------------------------------------------------
    def _cooking(self) -> None:
        self.bridge.cookStarted.connect(self._cook_started)
        self.bridge.message.connect(self._cook_message)
        self.bridge.cookFinished.connect(self._cook_finished)
        self.problems.activated.connect(self.go_to)
        self.shell.executed.connect(self.document_changed_elsewhere)
        self.panel.nodeSelected.connect(lambda *_: self.shell.refresh())
        self.viewer.itemSelected.connect(lambda *_: self.shell.refresh())
        self.viewer.itemSelected.connect(self.panel.show_related)
        self.panel.set_bridge(self.bridge)

    def cook(self, upto: str | None = None, resume: bool = False) -> bool:
        """Cook the network (or up to ``upto``) on a background thread; ``resume`` goes on
        from the last cook's journal."""
        if self.bridge.cooking:
            return False
        if upto is not None and self.document.is_scheduler(upto):
            upto = None  # a scheduler node is not a place to cook up to
        self.problems.clear()
        self.problems.show_load_errors(registry.default().failures)
        self._untitled_hip()
        try:
            self.bridge.start(self.document.network, upto, resume=resume)
        except SchedcoreError as exc:
            self.problems.add("error", str(exc), self._field_of(exc))
            self.show_pane(self.problems_dock)
            QMessageBox.warning(self, "Cannot cook", str(exc))
            return False
        self.shell.refresh()
        return True

    def _untitled_hip(self) -> None:
        """An untitled network cooks in a folder of its own (never the folder the studio was
        started from), kept and named in Problems, until the network is saved."""
        network = self.document.network
        if self.document.path or network.hip_given:
            return
        network.hip = tempfile.mkdtemp(prefix="schedstudio-untitled-")
        self.problems.add("warning", f"the network is untitled: it cooks in {network.hip} "
                                     f"($HIP). Save it to cook beside its file")

    def submit_as_job(self) -> str:
        """Save, then hand the network to its default scheduler as one job; the status URI."""
        if (self.document.dirty or not self.document.path) and not self.save():
            return ""
        from schedcore import submit

        try:
            uri = submit.submit(self.document.network)
        except SchedcoreError as exc:
            QMessageBox.warning(self, "Not submitted", str(exc))
            return ""
        self.submitted.add(uri, self.document.path)
        self.show_pane(self.submitted_dock)
        self.statusBar().showMessage(f"Submitted: the cook goes on as its own job, even when "
                                     f"the studio closes; follow it in Submitted Jobs ({uri})",
                                     15000)
        return uri

    @staticmethod
    def _field_of(exc: Exception) -> tuple | None:
        problems = getattr(exc, "problems", None)
        if problems and hasattr(exc, "scheduler"):
            field, line, _message = problems[0]
            return "field", exc.scheduler, field, line
        return None

    def _cook_started(self) -> None:
        for action in (self.cook_action, self.cook_selected_action, self.resume_action):
            action.setEnabled(False)
        self.cancel_action.setEnabled(True)
        self.statusBar().showMessage("Cooking…")

    def internal_error(self, text: str) -> None:
        """An exception of the studio's own code that nothing caught: in Problems with its
        traceback (the last line shown), said in the status bar."""
        self.problems.add("internal error of the studio (please report it)", text.rstrip())
        self.statusBar().showMessage("An internal error of the studio: see Problems", 15000)

    def _cook_message(self, message) -> None:
        self.problems.add(message.level, message.text)

    def _cook_finished(self, result) -> None:
        for action in (self.cook_action, self.cook_selected_action, self.resume_action):
            action.setEnabled(True)
        self.cancel_action.setEnabled(False)
        self.report_action.setEnabled(True)
        self._add_failures(result.failed)
        verdict = ("canceled" if result.canceled else "every item cooked" if result.ok
                   else "the cook failed")
        self.statusBar().showMessage(f"Cook over: {verdict} ({len(result.items)} items)")
        if not result.ok and self.problems.count():
            self.show_pane(self.problems_dock)
        self.panel.viewport().update()
        self.shell.refresh()

    def export_report(self, path: str = "") -> bool:
        """The last cook's report (``schedcore cook --report``) to an HTML file the user
        chooses (``path``, when given)."""
        engine = self.bridge.engine
        result = engine.result if engine is not None else None
        if result is None:
            self.statusBar().showMessage("Nothing to report yet: cook first", 5000)
            return False
        name = Path(self.document.path).name if self.document.path else "untitled"
        if not path:
            start = str(Path(self.document.network.hip) / f"{name.split('.')[0]}-report.html")
            path, _ = QFileDialog.getSaveFileName(self, "Export cook report", start,
                                                  "HTML pages (*.html)")
            if not path:
                return False
            path = path if path.endswith((".html", ".htm")) else path + ".html"
        from schedcore import cookhistory, report

        try:
            nodes = list(dict.fromkeys(str(item.node) for item in result.items))
            history = cookhistory.medians(engine.journal_path, nodes)
            report.write_report(path, result, title=f"{name}: cook report", history=history)
        except OSError as exc:
            QMessageBox.warning(self, "No report", f"{path}: {exc.strerror or exc}")
            return False
        self.statusBar().showMessage(f"Cook report written to {path}: open it in a browser",
                                     15000)
        return True

    def _add_failures(self, failed: list) -> None:
        """One problem per node and reason: a thousand items that failed alike are one line
        (activated, it shows them all in the Cook Viewer), not a thousand."""
        alike: dict[tuple, list] = {}
        for item in failed:
            alike.setdefault((item.node, item.reason), []).append(item)
        for (node, reason), items in alike.items():
            first = items[0]
            if len(items) == 1:
                kind, what, item_target = "failed item", first.name, ("item", first.id)
            else:
                kind = "failed items"
                what = f"{first.name} and {len(items) - 1:,} more of {node}"
                item_target = ("item", first.id, first.state.name, node)
            # a callback's traceback leads to its line, else to the items
            self.problems.add(kind, f"{what}: {reason}", field_target(reason) or item_target)

    def go_to(self, target: tuple) -> None:
        """Where a problem points: a callback field's line, a module file's, or a work item."""
        if target[0] == "field":
            _kind, node, field, line = target
            if node in self.panel.items:
                self.panel.select(node)
                if self.pane.node != node:
                    self.pane.show_node(node)
                self.pane.goto(field, line)
        elif target[0] == "file":
            if self.source_view is None:
                from .editor.source import SourceView

                self.source_view = SourceView()
                self.source_view.saved.connect(self._module_saved)
            self.source_view.show_line(*target[1:])
        elif target[0] == "item":  # ("item", id) or ("item", id, state, node): those shown
            self.show_pane(self.viewer_dock)
            self.viewer.show_item(*target[1:])

    # -- the Python Shell ----------------------------------------------------------------------
    def console_namespace(self) -> dict:
        from schedcore.compat import pdg

        selected = self.panel.selected()
        return {"network": self.document.network, "document": self.document, "window": self,
                "scheduler": self._scheduler_instance(selected), "engine": self.bridge.engine,
                "items": list(self.bridge.items), "selected": self.viewer.selected_items(),
                "pdg": pdg}

    def _scheduler_instance(self, name: str):
        """An instance of the selected scheduler node whose parameters are the node's own,
        so that setting one from the shell changes the network."""
        if not name or not self.document.is_scheduler(name):
            return None
        spec = self.document.spec(name)
        cls = registry.default().types.get(spec.type)
        if cls is None:
            return None
        try:
            instance = cls.cls.create(name, spec.values(), self.document.network.hip)
        except SchedcoreError:
            return None
        instance.parms.values = spec.parms
        return instance

    def document_changed_elsewhere(self) -> None:
        """After a shell command: show what it changed in the network."""
        self.document.refresh()


def _keys(standard: QKeySequence.StandardKey, fallback: str) -> list[QKeySequence]:
    """The platform's keys for ``standard``; ``fallback`` where the platform has none (Quit
    has no key on some Linux desktops and offscreen)."""
    keys = QKeySequence.keyBindings(standard)
    return keys if keys else [QKeySequence(fallback)]


def with_extension(path: str) -> str:
    """``shot`` -> ``shot.top.json``, ``shot.top`` -> ``shot.top.json``: the Open dialog lists
    networks by that extension. A name with an extension of its own is the user's choice."""
    name = Path(path).name
    if name.endswith(".top"):
        return f"{path}.json"
    return path if "." in name.strip(".") else f"{path}{NETWORK_EXTENSION}"


def open_window(path: str | None) -> MainWindow:
    """The window on ``path``, or on the bundled example."""
    return MainWindow(Document.open(path or EXAMPLE))
