"""When `rolepulse run` restarts a crashed child, and when it loads a market."""

from __future__ import annotations

import pytest

from rolepulse.supervise import RestartPolicy, needs_load

POLICY = RestartPolicy(base_s=0.5, cap_s=4.0, max_crashes=5, window_s=60.0)


def test_backoff_doubles_per_recent_crash_up_to_the_cap() -> None:
    crashes: list[float] = []
    delays = []
    for t in (0.0, 1.0, 2.0, 3.0):
        crashes.append(t)
        delays.append(POLICY.delay(crashes, t))
    assert delays == [0.5, 1.0, 2.0, 4.0]
    capped = RestartPolicy(base_s=1.0, cap_s=3.0, max_crashes=10)
    assert capped.delay([0.0, 1.0, 2.0, 3.0, 4.0], 4.0) == 3.0


def test_the_fifth_crash_within_the_window_gives_up() -> None:
    assert POLICY.delay([0.0, 10.0, 20.0, 30.0, 40.0], 40.0) is None


def test_crashes_outside_the_window_are_forgotten() -> None:
    crashes = [0.0, 10.0, 20.0, 30.0, 100.0]
    assert POLICY.recent(crashes, 100.0) == [100.0]
    assert POLICY.delay(crashes, 100.0) == 0.5


@pytest.mark.parametrize(
    ("events_given", "market_loaded", "load"),
    [
        (False, False, True),  # first run: load the demo market
        (False, True, False),  # later runs: use the data kept from before
        (True, False, True),  # a file the user named is always published
        (True, True, True),
    ],
)
def test_the_demo_market_is_loaded_only_into_a_database_without_one(
    events_given: bool, market_loaded: bool, load: bool
) -> None:
    assert needs_load(events_given, market_loaded) is load
