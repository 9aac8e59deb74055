"""``python -m hydrologic <command>``: see ``hydrologic.cli``."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
