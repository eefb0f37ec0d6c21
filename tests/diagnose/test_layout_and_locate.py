"""diagnose/layout.py and diagnose/locate.py on tensors built here (no sandbox).

Both stay cheap on big outputs and many inputs: the localisation samples above its element cap
(and says so, reporting original indices), G01 re-runs the reference at most MAX_RERUNS times,
and a candidate layout reaches a full comparison only after passing on sampled elements. Each
form the localisation names (zeros, affine, Inf), on real tensors."""

from __future__ import annotations

import math
from typing import Any

import torch

from kernel_arena.diagnose import FailureEvidence, diagnose_failure
from kernel_arena.diagnose import layout as layout_module
from kernel_arena.diagnose import locate as locate_module
from kernel_arena.measure.compare import Tolerance
from kernel_arena.schema import Definition, Solution, Workload


def _definition(
    inputs: dict[str, list[str]], outputs: dict[str, list[str]], axes: dict[str, int]
) -> Definition:
    return Definition.model_validate(
        {
            "name": "planted_op",
            "op_type": "planted",
            "axes": {a: {"type": "const", "value": v} for a, v in axes.items()},
            "inputs": {n: {"shape": s, "dtype": "float32"} for n, s in inputs.items()},
            "outputs": {n: {"shape": s, "dtype": "float32"} for n, s in outputs.items()},
            "reference": "def run(*args):\n    raise NotImplementedError\n",
        }
    )


def _workload(inputs: dict[str, Any]) -> Workload:
    return Workload.model_validate(
        {"axes": {}, "inputs": {n: {"type": "random"} for n in inputs}, "uuid": "w"}
    )


def _solution(definition: Definition) -> Solution:
    return Solution.model_validate(
        {
            "name": "s",
            "definition": definition.name,
            "author": "tests",
            "spec": {"language": "python", "target_hardware": ["cpu"], "entry_point": "main.py::run"},
            "sources": [{"path": "main.py", "content": "def run(): pass\n"}],
        }
    )


def _evidence(
    definition: Definition,
    inputs: dict[str, Any],
    outputs: dict[str, torch.Tensor],
    references: dict[str, torch.Tensor],
    reference_fn: Any = None,
    cls: type[FailureEvidence] = FailureEvidence,
) -> FailureEvidence:
    return cls(
        definition,
        _workload(inputs),
        _solution(definition),
        inputs,
        outputs,
        references,
        reference_fn,
        Tolerance(),
    )


def test_localisation_samples_above_its_cap_and_reports_original_indices():
    shape = (4, 8, 520, 260)  # 4.3M elements > MAX_ELEMENTS: the 520-long axis is sampled
    assert math.prod(shape) > locate_module.MAX_ELEMENTS
    d = _definition({}, {"o": ["b", "h", "s", "d"]}, {"b": 4, "h": 8, "s": 520, "d": 260})
    ref = torch.randn(shape)
    out = ref.clone()
    out[2, 6] += 3.0
    (found,) = locate_module.locate(_evidence(d, {}, {"o": out}, {"o": ref}))
    assert found.pitfall == "LOC"
    assert "only at b 2 (1 of 4), h 6 (1 of 8)" in found.message
    assert "(looked at evenly spaced indices of s)" in found.message
    assert found.detail is not None and found.detail["sampled_axes"] == ["s"]
    b, h, s, _ = found.detail["worst"]["index"]
    assert (b, h) == (2, 6) and 0 <= s < 520
    assert math.isclose(found.detail["worst"]["got"] - found.detail["worst"]["expected"], 3.0, rel_tol=1e-5)


def test_localisation_names_zeros_affine_and_inf():
    d = _definition({}, {"o": ["r", "c"]}, {"r": 16, "c": 32})
    ref = torch.randn(16, 32) * 10
    zeros = ref.clone()
    zeros[:, 4:8] = 0.0
    (found,) = locate_module.locate(_evidence(d, {}, {"o": zeros}, {"o": ref}))
    assert "only at c 4-7 (4 of 32)" in found.message
    assert "every wrong finite element is 0" in found.message and found.detail["form"] == "zeros"
    (found,) = locate_module.locate(_evidence(d, {}, {"o": 0.5 * ref + 2.0}, {"o": ref}))
    assert "got = 0.5 x expected + 2 on every wrong element (affine)" in found.message
    inf = ref.clone()
    inf[3, 3] = math.inf
    (found,) = locate_module.locate(_evidence(d, {}, {"o": inf}, {"o": ref}))
    assert "Inf at 0.2% (1) where the reference is finite" in found.message
    assert found.detail["worst"] == {"index": [3, 3], "expected": float(ref[3, 3]), "got": "Infinity"}


def test_g01_stops_after_max_reruns():
    # 12 inputs of three axes each: 36 transposition candidates, none explains the output
    names = [f"x{i}" for i in range(12)]
    d = _definition({n: ["a", "b", "c"] for n in names}, {"o": ["a", "b", "c"]}, {"a": 3, "b": 4, "c": 5})
    inputs = {n: torch.randn(3, 4, 5) for n in names}
    calls = []

    def reference(*args: torch.Tensor) -> torch.Tensor:
        calls.append(1)
        return sum(args)  # type: ignore[return-value]

    ref = reference(*inputs.values())
    calls.clear()
    found = diagnose_failure(_evidence(d, inputs, {"o": torch.randn(3, 4, 5)}, {"o": ref}, reference))
    assert [x.pitfall for x in found] == ["LOC"]
    assert len(calls) == layout_module.MAX_RERUNS


class _CountingEvidence(FailureEvidence):
    """Counts the full comparisons a detector asks for."""

    full_comparisons = 0

    def matches(self, name: str, candidate: torch.Tensor, output: Any | None = None) -> bool:
        type(self).full_comparisons += 1
        return super().matches(name, candidate, output)


def test_g02_candidates_are_compared_in_full_only_after_passing_on_a_sample():
    d = _definition({}, {"o": ["b", "h", "d"]}, {"b": 64, "h": 64, "d": 256})
    ref = torch.randn(64, 64, 256)

    def evidence(out: torch.Tensor) -> FailureEvidence:
        _CountingEvidence.full_comparisons = 0
        return _evidence(d, {}, {"o": out}, {"o": ref}, cls=_CountingEvidence)

    # unexplained: the one full comparison is the failure check itself (remembered afterwards)
    e = evidence(torch.randn(64, 64, 256))
    assert [x.pitfall for x in layout_module.layout(e)] == []
    assert _CountingEvidence.full_comparisons == 1
    # explained (heads shifted by one): one more, the confirmation
    e = evidence(ref.roll(1, dims=1))
    (found,) = layout_module.layout(e)
    assert "o matches the reference with its h slices reordered (shifted" in found.message
    assert _CountingEvidence.full_comparisons == 2
