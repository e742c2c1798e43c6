"""``python -m mock``: the mock provider as a program (how the cluster starts it)."""

import sys

from .cli import main

sys.exit(main())
