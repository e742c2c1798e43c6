"""The environment every benchmarked command runs in: a user's, whatever the caller's shell has.

A user's installation keeps the bytecode its first run compiles; a shell (or CI) that exports
``PYTHONDONTWRITEBYTECODE`` would make every launch compile agw-sandbox's modules again, while
the bare baselines import only libraries pip compiled at install. The benchmarks drop it, and
their warm-up launch writes the caches, as a user's first run does.
"""

from __future__ import annotations

import os

NOT_A_USERS = ("PYTHONDONTWRITEBYTECODE",)


def user_environment() -> dict[str, str]:
    return {name: value for name, value in os.environ.items() if name not in NOT_A_USERS}
