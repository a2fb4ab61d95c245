"""Help ▸ About, and the studio's icon (shipped in the package, so any install finds it)."""

from __future__ import annotations

from importlib.resources import files

import PySide6
from PySide6.QtCore import qVersion
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QMessageBox

import schedcore


def icon() -> QIcon:
    return QIcon(str(files(__package__) / "icons" / "schedstudio.svg"))


def about_text() -> str:
    import platform  # for the About box only: not on the way to the window

    return (f"<h3>schedstudio {schedcore.__version__}</h3>"
            "<p>Write, test and run programmable schedulers for a procedural dependency "
            "graph, in the manner of Houdini's PDG.</p>"
            f"<p>Python {platform.python_version()}, Qt {qVersion()}, "
            f"PySide6 {PySide6.__version__}</p>"
            "<p>MIT License. Qt and PySide6 are used under the GNU LGPL v3; the packaged "
            "studio lists every bundled library's license in THIRD-PARTY-NOTICES.txt.</p>")


def show_about(parent) -> QMessageBox:
    """The About box, shown without blocking (returned, so it can be closed)."""
    box = QMessageBox(parent)
    box.setWindowTitle("About schedstudio")
    box.setIconPixmap(icon().pixmap(64, 64))
    box.setText(about_text())
    box.open()
    return box
