"""The default evaluator: every output compared with ``measure.compare`` under the tolerance."""

from __future__ import annotations

from typing import Any, Protocol

import torch

from kernel_arena.measure.compare import Comparison, Tolerance, compare_outputs


class Evaluator(Protocol):
    """Decides whether outputs (read from the judge's own buffers) match the reference."""

    def compare(
        self,
        names: list[str],
        outs: list[Any],
        refs: dict[str, torch.Tensor],
        tol: Tolerance,
        poisoned: bool,
    ) -> Comparison: ...


class DefaultEvaluator:
    """Shape, then dtype, then values within atol/rtol; NaN/Inf exactly where the reference has them."""

    def compare(
        self,
        names: list[str],
        outs: list[Any],
        refs: dict[str, torch.Tensor],
        tol: Tolerance,
        poisoned: bool,
    ) -> Comparison:
        return compare_outputs(names, outs, refs, tol, poisoned=poisoned)
