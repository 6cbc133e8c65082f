"""``python -m scanner_client ...`` is the same as ``trace-scan ...``."""

import sys

from scanner_client.cli import main

if __name__ == "__main__":
    sys.exit(main())
