"""The one error hierarchy of agw-sandbox.

Every failure the user can act on is one of these; foreign exceptions are translated at the
boundary with ``raise ... from exc``. Each error carries a ``hint`` saying what to do next.

    SandboxError
    ├── ScenarioError        a scenario file is invalid (every problem listed, with file and line)
    ├── ManifestRejected     the API server (or the simulated one) refused a manifest
    │   └── NotOurs          ... or the sandbox did: the object belongs to someone else
    ├── RuntimeUnavailable   the chosen runtime cannot run here (no Docker, no kind, ...)
    │   └── PortInUse        the local gateway port is taken
    ├── WaitTimeout          a resource did not reach the expected conditions in time
    ├── CommandFailed        a subprocess (kind, helm, kubectl, ...) exited non-zero
    │   └── CommandTimedOut  ... or did not finish in time (and was stopped)
    └── RequestFailed        the test request could not be sent or its response not read
"""

from __future__ import annotations

import signal
from collections.abc import Sequence

from sandbox.records import record
from sandbox.untrusted import one_line


class SandboxError(Exception):
    """Base class: a message for the user and a hint for what to try next.

    Each is one line: a line break in what they quote (a path, an address, a name from outside)
    is shown as an escape, so it cannot start a line of output that looks like ours.
    """

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        message = self.shown_message()
        return f"{message}\n  hint: {one_line(self.hint)}" if self.hint else message

    def shown_message(self) -> str:
        return one_line(self.message)


@record
class Problem:
    """One thing wrong in a scenario file."""

    path: str
    line: int | None
    reason: str

    def __str__(self) -> str:
        path = one_line(self.path)  # a file name may hold a line break
        where = f"{path}:{self.line}" if self.line else path
        return f"{where}: {one_line(self.reason)}"


class ScenarioError(SandboxError):
    """One or more scenario files are invalid; nothing is skipped silently, though a flood of
    problems (a generated file) is listed up to ``MAX_LISTED`` and counted beyond."""

    MAX_LISTED = 50

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        lines = "\n".join(f"  {p}" for p in self.problems[:self.MAX_LISTED])
        count = len(self.problems)
        if count > self.MAX_LISTED:
            lines += (f"\n  … and {count - self.MAX_LISTED} more not listed here: fix these and "
                      "check again (`agw-sandbox scenarios --check DIR`)")
        super().__init__(
            f"{count} problem{'s' if count != 1 else ''} in scenario files:\n{lines}",
            "fix the files listed above; `agw-sandbox scenarios --check DIR` re-checks them",
        )

    def shown_message(self) -> str:
        return self.message  # a line per problem, each on one line (Problem.__str__)


class ManifestRejected(SandboxError):
    """A manifest was refused, with the API server's own wording where there is one."""


class NotOurs(ManifestRejected):
    """An object the sandbox would change or delete exists and was not created by it."""


class RuntimeUnavailable(SandboxError):
    """The requested runtime cannot be used on this machine."""


class PortInUse(RuntimeUnavailable):
    """The local port for the gateway is already taken."""


class WaitTimeout(SandboxError):
    """A resource did not reach the expected status before the deadline."""


def how_it_ended(returncode: int) -> str:
    """A process's non-zero end in words: a negative return code is the signal that killed it."""
    if returncode >= 0:
        return f"failed with exit status {returncode}"
    try:
        name = signal.Signals(-returncode).name
    except ValueError:  # a real-time signal, which has no name of its own
        name = f"signal {-returncode}"
    return f"was killed by {name}"


class CommandFailed(SandboxError):
    """A subprocess failed; carries the command line and what it wrote to stderr."""

    def __init__(self, argv: Sequence[str], returncode: int, stderr: str, hint: str = "") -> None:
        self.argv = tuple(argv)
        self.returncode = returncode
        self.stderr = stderr
        detail = stderr.strip().splitlines()[-1] if stderr.strip() else "no error output"
        ended = (f"exited with {returncode}" if returncode >= 0 else how_it_ended(returncode))
        super().__init__(f"`{' '.join(argv)}` {ended}: {detail}", hint)


class CommandTimedOut(CommandFailed):
    """A subprocess did not finish before its deadline; it has been killed."""

    def __init__(self, argv: Sequence[str], timeout: float, stderr: str, hint: str = "") -> None:
        super().__init__(argv, -9, stderr, hint)
        tail = stderr.strip().splitlines()[-1] if stderr.strip() else ""
        self.message = (f"`{' '.join(argv)}` did not finish within {timeout:g}s and was stopped"
                        + (f" (its last words: {tail})" if tail else ""))


class RequestFailed(SandboxError):
    """The test request could not reach the gateway."""
