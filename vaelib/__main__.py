"""``python -m vaelib``: the command line (see ``vaelib.cli``)."""

import sys

from .cli import main

sys.exit(main())
