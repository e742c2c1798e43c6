"""The tier's one error type: the stage that failed, what happened, and what to do next.

    TierError
      stage    "build", "crds", "start", "stop", … (printed first, so a log says where it broke)
      message  what happened, naming the module, file, port or process involved
      hint     what to do about it (may be empty)
"""

from __future__ import annotations


class TierError(Exception):
    """A step of building, starting or stopping the upstream tier failed."""

    def __init__(self, stage: str, message: str, hint: str = "") -> None:
        super().__init__(f"{stage}: {message}")
        self.stage = stage
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        text = f"{self.stage}: {self.message}"
        return f"{text}\n  {self.hint}" if self.hint else text
