"""Delete This Node's Results from Disk: which files a node's last items made, and deleting
them once the user has seen them listed."""

from __future__ import annotations

import os

from PySide6.QtWidgets import QMessageBox

SHOWN = 20  # files listed in the question; all of them under "Show Details"


def output_paths(items, node: str, journal: str) -> list[str]:
    """The output files of ``node``'s items that are on disk: those of the studio's last
    cook (``items``) and those its cook journal recorded."""
    from schedcore import journal as journal_file

    paths = {o.path for item in items if item.node == node for o in item.outputFiles}
    paths |= {o.path for key, record in journal_file.read(journal).items()
              if key.split("/", 1)[0] == node for o in record.outputs}
    return sorted(p for p in paths if os.path.isfile(p))


def ask_and_delete(parent, node: str, paths: list[str]) -> bool:
    """Ask before deleting ``paths`` (listed), then delete them, saying which could not be;
    False when the user said no."""
    if not paths:
        return QMessageBox.question(parent, "Delete results", f"{node} has no output files "
                                    f"on disk. Dirty it anyway?") == QMessageBox.StandardButton.Yes
    box = QMessageBox(QMessageBox.Icon.Warning, "Delete results",
                      f"Delete the {len(paths)} output files of {node}?", parent=parent)
    box.setInformativeText("\n".join(paths[:SHOWN]) + (
        f"\n… and {len(paths) - SHOWN} more" if len(paths) > SHOWN else ""))
    box.setDetailedText("\n".join(paths))
    box.setStandardButtons(QMessageBox.StandardButton.Yes
                          | QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    if box.exec() != QMessageBox.StandardButton.Yes:
        return False
    failed = []
    for path in paths:
        try:
            os.remove(path)
        except OSError as exc:
            failed.append(f"{path}: {exc.strerror or exc}")
    if failed:
        QMessageBox.warning(parent, "Some results were not deleted", "\n".join(failed[:SHOWN]))
    return True
