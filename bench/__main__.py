"""``python -m bench NAME … [--json] [--quick]``: :func:`bench.command.main`."""

import sys

from bench.command import main

sys.exit(main())
