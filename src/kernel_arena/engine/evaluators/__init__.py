"""Evaluators: how a Definition's outputs are judged against the reference.

The default compares every output (shape, dtype, values within tolerance, NaN/Inf placement).
An op type with special correctness rules adds a module here and one line in ``_BY_OP_TYPE``.
"""

from __future__ import annotations

from kernel_arena.engine.evaluators.default import DefaultEvaluator, Evaluator
from kernel_arena.schema import Definition

_DEFAULT = DefaultEvaluator()
_BY_OP_TYPE: dict[str, Evaluator] = {}


def evaluator_for(definition: Definition) -> Evaluator:
    """The evaluator registered for the definition's op type, else the default."""
    return _BY_OP_TYPE.get(definition.op_type, _DEFAULT)


__all__ = ["DefaultEvaluator", "Evaluator", "evaluator_for"]
