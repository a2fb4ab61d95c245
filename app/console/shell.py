"""The Python Shell: qtconsole's RichJupyterWidget on an in-process kernel, made the first time
the dock is shown (importing it takes a second; the window opens without waiting for it).
It holds the live objects; after each command the window shows what it changed."""

from __future__ import annotations

import os

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QDockWidget, QLabel

SYNTAX_STYLE = "native"  # pygments' dark style nearest the code fields' #1e1e1e
BANNER = ("Live objects: network, document, scheduler (the selected scheduler node's "
          "instance), engine, items, selected (selected work items), window, pdg.\n")


_manager = None  # one in-process kernel per process: IPython's shell is a singleton


def kernel_manager():
    global _manager
    if _manager is None:
        os.environ.setdefault("QT_API", "pyside6")
        os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
        from qtconsole.inprocess import QtInProcessKernelManager

        before = dict(os.environ)
        _manager = QtInProcessKernelManager()
        _manager.start_kernel(show_banner=False)
        _manager.kernel.gui = "qt"
        _restore_environment(before)
    return _manager


def _restore_environment(before: dict) -> None:
    """ipykernel sets FORCE_COLOR, TERM, PAGER... for the processes a notebook starts; here
    they would reach every job of a cook (colour codes in the logs). Put them back."""
    for key in set(os.environ) | set(before):
        if key in before:
            os.environ[key] = before[key]
        else:
            os.environ.pop(key, None)


def dark(widget) -> None:
    """The console in the studio's dark colours: qtconsole's style sheet made from the
    syntax style, so prompts, text and highlighting agree."""
    from qtconsole import styles

    widget.syntax_style = SYNTAX_STYLE
    widget.style_sheet = styles.sheet_from_template(SYNTAX_STYLE, "linux")
    widget._syntax_style_changed()
    widget._style_sheet_changed()


class ShellDock(QDockWidget):
    executed = Signal()  # a command ran in the shell

    def __init__(self, namespace_source, parent=None):
        super().__init__("Python Shell", parent)
        self.setObjectName("pythonshell")
        self._source = namespace_source  # () -> dict of the live objects
        self.widget_ = None
        self.kernel_manager = None
        self.setWidget(QLabel("The Python Shell starts when this panel is shown."))
        self.visibilityChanged.connect(lambda visible: visible and self.start())

    @property
    def shell(self):
        """The IPython shell (started on first use)."""
        self.start()
        return self.kernel_manager.kernel.shell

    def start(self) -> None:
        if self.kernel_manager is not None:
            return
        from qtconsole.rich_jupyter_widget import RichJupyterWidget

        manager = kernel_manager()
        manager.kernel.shell.reset(new_session=False)  # a new window: a clean namespace
        # The namespace is the process's __main__; IPython 8's reset empties it of __spec__,
        # which multiprocessing's spawn reads (a Dask cook's workers would fail to start).
        manager.kernel.shell.user_ns.setdefault("__spec__", None)
        client = manager.client()
        client.start_channels()
        widget = RichJupyterWidget()
        dark(widget)
        widget.banner = BANNER
        widget.kernel_manager, widget.kernel_client = manager, client
        # IPython's own hook: the widget's `executed` signal is lost with in-process kernels
        manager.kernel.shell.events.register("post_execute", self._after)
        self.kernel_manager, self.widget_ = manager, widget
        self.refresh()
        self.setWidget(widget)

    def refresh(self) -> None:
        """Put the current live objects in the shell's namespace."""
        if self.kernel_manager is not None:
            self.kernel_manager.kernel.shell.push(self._source())

    def _after(self, *_args) -> None:
        self.executed.emit()

    def stop(self) -> None:
        """Disconnect this window's console; the process's kernel stays for the next one."""
        if self.widget_ is not None:
            self.kernel_manager.kernel.shell.events.unregister("post_execute", self._after)
            self.widget_.kernel_client.stop_channels()
            self.kernel_manager = self.widget_ = None
