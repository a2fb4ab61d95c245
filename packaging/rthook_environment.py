"""Runtime hook of the packaged studio: the programs it starts get the user's environment.

PyInstaller's bootloader points LD_LIBRARY_PATH at the bundle's libraries (keeping the
user's value in LD_LIBRARY_PATH_ORIG). The dynamic loader has read it by now, so the studio
itself no longer needs it; left set, it would hand the bundle's libpython, libssl, libz... to
every job command (a python3 of another 3.11 release then fails to import math, a newer
tool finds an older library). A job the bundle runs itself sets it again at its own start.
"""

import os

_original = os.environ.pop("LD_LIBRARY_PATH_ORIG", None)
if _original is None:
    os.environ.pop("LD_LIBRARY_PATH", None)
else:
    os.environ["LD_LIBRARY_PATH"] = _original
