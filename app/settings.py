"""Where the studio keeps what it remembers (Recent Files, Submitted Jobs, the window's layout):
the user's own settings, or the file ``$SCHEDSTUDIO_SETTINGS`` names (tests, the self-test and
screenshots use one of their own, so they never change the user's)."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

from PySide6.QtCore import QSettings

ORGANIZATION = APPLICATION = "schedstudio"
ENV = "SCHEDSTUDIO_SETTINGS"


def open_settings() -> QSettings:
    path = os.environ.get(ENV)
    if path:
        return QSettings(path, QSettings.Format.IniFormat)
    return QSettings(ORGANIZATION, APPLICATION)


def use_throwaway_settings() -> None:
    """Settings that last this process only (unless a file is named already): a self-test or a
    screenshot shows the default layout and adds nothing to the user's Recent Files."""
    if os.environ.get(ENV):
        return
    folder = tempfile.mkdtemp(prefix="schedstudio-settings-")
    atexit.register(shutil.rmtree, folder, True)
    os.environ[ENV] = os.path.join(folder, "schedstudio.ini")
