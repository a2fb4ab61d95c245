"""The packaged studio's entry point."""

import sys

from schedstudio.main import main

if __name__ == "__main__":
    sys.exit(main())
