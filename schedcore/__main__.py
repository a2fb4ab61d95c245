"""``python -m schedcore``: the ``schedcore`` command."""

import sys

from .cli import main

sys.exit(main())
