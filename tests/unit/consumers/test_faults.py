from __future__ import annotations

import pytest

from rolepulse.consumers.faults import STEPS, Faults


def test_unknown_step_is_refused_with_the_known_ones() -> None:
    with pytest.raises(ValueError, match="known: decoded"):
        Faults("after_lunch")


def test_no_fault_configured_never_kills() -> None:
    faults = Faults()
    faults.batch_started()
    for step in STEPS:
        faults.reached(step)  # type: ignore[arg-type]


def test_fault_fires_only_on_its_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    kills: list[int] = []
    monkeypatch.setattr("rolepulse.consumers.faults.os.kill", lambda pid, sig: kills.append(sig))
    faults = Faults("db_committed", on_batch=2)
    faults.batch_started()
    faults.reached("db_committed")
    assert kills == []
    faults.batch_started()
    faults.reached("decoded")
    faults.reached("db_committed")
    assert len(kills) == 1
