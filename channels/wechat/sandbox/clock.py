"""The fake platform's clock: real time plus an offset that tests can advance."""

from __future__ import annotations

import time


class Clock:
    """Epoch-seconds clock; every platform time rule of the fake reads it."""

    def __init__(self, offset: float = 0.0) -> None:
        self._offset = float(offset)

    def now(self) -> float:
        """Current platform time in epoch seconds."""
        return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        """Move platform time forward; time never runs backwards."""
        if seconds < 0:
            raise ValueError("the clock cannot go backwards")
        self._offset += seconds

    @property
    def offset(self) -> float:
        """Seconds the clock runs ahead of real time."""
        return self._offset
