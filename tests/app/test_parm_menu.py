"""A text parameter whose choices its scheduler lists: the Slurm Scheduler's partition,
read from a real local Slurm when the menu beside the field is asked for."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QApplication

from schedstudio.document import Document
from schedstudio.window import MainWindow

from ..conftest import make_network


@pytest.fixture
def slurm_window(qtbot, tmp_path):
    net = make_network(tmp_path, [{"name": "gen", "type": "genericgenerator"}],
                       schedulers=[{"name": "farm", "type": "slurmscheduler", "parms": {}}])
    win = MainWindow(Document(net))
    win.show()
    qtbot.waitExposed(win)
    win.panel.select("farm")
    yield win
    button = win.pane.widgets.made("menu:slurm_partition")
    if button is not None:
        button.wait(60)
        QApplication.processEvents()
    win.document.dirty = False
    win.close()


def _choose(qtbot, button) -> list[str]:
    with qtbot.waitSignal(button.ready, timeout=60_000):
        button.click()
    return [action.text() for action in button.menu_shown.actions()]


def test_the_partition_menu_lists_the_clusters_partitions(qtbot, slurm_cluster, slurm_window):
    button = slurm_window.pane.widgets["menu:slurm_partition"]
    entries = _choose(qtbot, button)
    assert entries == ["debug", "other"]  # the cluster's default first
    button.menu_shown.actions()[1].trigger()
    assert slurm_window.pane.widgets["slurm_partition"].text() == "other"
    assert slurm_window.document.network.scheduler("farm").parms["slurm_partition"] == "other"


def test_the_partition_menu_says_why_when_slurm_cannot_be_asked(qtbot, slurm_window, tmp_path):
    slurm_window.document.set_parm("farm", "slurm_bindir", str(tmp_path))  # no Slurm there
    button = slurm_window.pane.widgets["menu:slurm_partition"]
    entries = _choose(qtbot, button)
    assert len(entries) == 1 and "sinfo" in entries[0]
    assert not button.menu_shown.actions()[0].isEnabled()
    assert button.isEnabled()  # it can be asked again
