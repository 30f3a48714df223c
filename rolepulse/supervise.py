"""When `rolepulse run` restarts a crashed child, and when it gives up: a pure policy."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RestartPolicy:
    """Capped exponential backoff over the crashes of one child within a sliding window.

    The first crash is retried after ``base_s``, each further crash within ``window_s`` doubles
    the wait up to ``cap_s``; the ``max_crashes``-th crash within the window means the child
    cannot run here (a bad setting, a port taken, a broken install) and `run` gives up.
    """

    base_s: float = 0.5
    cap_s: float = 10.0
    max_crashes: int = 5
    window_s: float = 60.0

    def recent(self, crashes: list[float], now: float) -> list[float]:
        """The crash times (monotonic seconds) still inside the window at ``now``."""
        return [t for t in crashes if now - t < self.window_s]

    def delay(self, crashes: list[float], now: float) -> float | None:
        """Seconds to wait before restarting, or None to give up; ``crashes`` includes the
        crash being handled."""
        n = len(self.recent(crashes, now))
        if n >= self.max_crashes:
            return None
        return float(min(self.cap_s, self.base_s * 2 ** max(0, n - 1)))


def needs_load(events_given: bool, market_loaded: bool) -> bool:
    """Whether `run` publishes a market: always a file the user named, the demo market only
    into a database that has not completed loading one yet."""
    return events_given or not market_loaded
