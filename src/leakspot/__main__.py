"""``python -m leakspot``: the same entry point as the ``leakspot`` console script."""

import sys

from leakspot.cli import main

sys.exit(main())
