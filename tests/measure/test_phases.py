"""The per-phase wall clock of an evaluation."""

from __future__ import annotations

from kernel_arena.measure.phases import PhaseClock


def test_phase_clock_accumulates_repeated_phases():
    clock = PhaseClock()
    clock.add("a", 1.0)
    with clock.phase("b"):
        pass
    clock.add("a", 2.5)
    assert list(clock.rounded()) == ["a", "b"] and clock.rounded()["a"] == 3.5
