"""benchmarks/loop_references.py: each per-sequence loop reference computes what the embedded one does."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
import loop_references  # noqa: E402

from kernel_arena.builtin.generate import DATASET  # noqa: E402
from kernel_arena.dataset import load_dataset  # noqa: E402
from kernel_arena.measure.inputs import materialize_inputs  # noqa: E402
from kernel_arena.measure.reference import as_output_tuple, load_reference  # noqa: E402


@pytest.mark.parametrize("op_type", sorted(loop_references.BY_OP_TYPE))
def test_loop_reference_matches_the_embedded_one(op_type):
    ds = load_dataset(DATASET)
    definition = next(d for d in ds.definitions.values() if d.op_type == op_type)
    looped = load_reference(definition.model_copy(update={"reference": loop_references.BY_OP_TYPE[op_type]}))
    vectorized = load_reference(definition)
    names = list(definition.outputs)
    for workload in [w for w in ds.workloads_for(definition.name) if "cpu" in w.tags][:3]:
        inputs = materialize_inputs(definition, workload, "cpu", 0, DATASET)
        want = as_output_tuple(vectorized(*inputs.values()), names)
        got = as_output_tuple(looped(*inputs.values()), names)
        for name, w, g in zip(names, want, got):
            assert g.shape == w.shape and g.dtype == w.dtype, name
            torch.testing.assert_close(g.float(), w.float(), atol=2e-2, rtol=2e-2, msg=f"{workload.uuid} {name}")
