"""``python -m hedgekit``: the command line (:mod:`hedgekit.cli`)."""

from __future__ import annotations

import sys

from hedgekit.cli import main

if __name__ == "__main__":
    sys.exit(main())
