"""The input-mutation check: bitwise, per input, any dtype or layout."""

from __future__ import annotations

import torch

from kernel_arena.measure.compare import mutated_inputs


def test_mutation_check_is_bitwise_and_names_the_changed_input():
    x = torch.tensor([1.0, float("nan"), 3.0], dtype=torch.bfloat16)
    pool = torch.randn(4, 3, dtype=torch.float32)
    before = {"x": x.clone(), "pool": pool.clone(), "n": 3}
    assert mutated_inputs(before, {"x": x, "pool": pool, "n": 3}) == []  # NaN equals itself bitwise
    pool[2, 1] = torch.nextafter(pool[2, 1], torch.tensor(float("inf")))  # one ulp
    assert mutated_inputs(before, {"x": x, "pool": pool, "n": 3}) == ["pool"]


def test_mutation_check_handles_odd_widths_and_views():
    flags = torch.tensor([True, False, True])
    wide = torch.arange(12, dtype=torch.float64).reshape(3, 4).t()  # non-contiguous
    before = {"flags": flags.clone(), "wide": wide.clone()}
    assert mutated_inputs(before, {"flags": flags, "wide": wide}) == []
    flags[1] = True
    assert mutated_inputs(before, {"flags": flags, "wide": wide}) == ["flags"]
