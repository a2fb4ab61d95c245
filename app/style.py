"""The studio's look: Qt's Fusion style with a dark palette, like Houdini's."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

_COLORS = {
    QPalette.ColorRole.Window: "#3a3a3a", QPalette.ColorRole.WindowText: "#dcdcdc",
    QPalette.ColorRole.Base: "#2b2b2b", QPalette.ColorRole.AlternateBase: "#333333",
    QPalette.ColorRole.Text: "#dcdcdc", QPalette.ColorRole.Button: "#474747",
    QPalette.ColorRole.ButtonText: "#e6e6e6", QPalette.ColorRole.Highlight: "#c28a1e",
    QPalette.ColorRole.HighlightedText: "#101010", QPalette.ColorRole.ToolTipBase: "#f5f0d0",
    QPalette.ColorRole.ToolTipText: "#202020", QPalette.ColorRole.Link: "#e8b04a",
    QPalette.ColorRole.PlaceholderText: "#8a8a8a",
}


def apply(app: QApplication) -> None:
    app.setStyle("Fusion")
    palette = QPalette()
    for role, color in _COLORS.items():
        palette.setColor(role, QColor(color))
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, QColor("#808080"))
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText,
                     QColor("#808080"))
    app.setPalette(palette)
