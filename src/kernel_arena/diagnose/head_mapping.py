"""P04 / P10: grouped heads mapped with modulo instead of contiguous groups.

Query head h (GQA) or value head h (GDN GVA) must use shared head h // group. A kernel that
uses h % num_shared instead computes, for head h, what the reference computes for head
j(h) = (h % num_shared) * group + h // num_shared once the per-head inputs are permuted.
"""

from __future__ import annotations

from typing import Any

import torch

from kernel_arena.diagnose.registry import FailureEvidence, detector

# op_type → (many-head axis, shared-head axis, {per-head input: dim}, {output: head dim}, pitfall)
_LAYOUTS: dict[str, tuple[str, str, dict[str, int], dict[str, int]]] = {
    "gqa_paged": ("num_qo_heads", "num_kv_heads", {"q": 1}, {"output": 1, "lse": 1}),
    "gdn": (
        "num_v_heads",
        "num_q_heads",
        {"v": 2, "state": 1, "A_log": 0, "a": 2, "dt_bias": 0, "b": 2},
        {"output": 2, "new_state": 1},
    ),
}


def _applies(e: FailureEvidence) -> bool:
    return e.outputs is not None and e.definition.op_type in _LAYOUTS


def modulo_permutation(many: int, shared: int) -> list[int]:
    """j(h) for every head h (see module docstring)."""
    group = many // shared
    return [(h % shared) * group + h // shared for h in range(many)]


@detector("P04/P10", "Grouped-head mapping (GQA / GVA)", applies=_applies)
def head_mapping(e: FailureEvidence) -> tuple[str, str] | None:
    """Re-run the reference with heads permuted to the modulo mapping; claim when it matches."""
    many_axis, shared_axis, per_head, out_dims = _LAYOUTS[e.definition.op_type]
    axes = e.definition.axis_values(e.workload.axes)
    many, shared = axes[many_axis], axes[shared_axis]
    if many == shared or not e.failing_outputs():
        return None
    perm = modulo_permutation(many, shared)
    inv = [0] * many
    for h, j in enumerate(perm):
        inv[j] = h
    changes: dict[str, Any] = {}
    for name, dim in per_head.items():
        t = e.inputs.get(name)
        if isinstance(t, torch.Tensor):
            # input'[j] = input[h] where j = perm[h]  ⇔  input' = input[inv]
            changes[name] = t.index_select(dim, torch.tensor(inv, device=t.device))
    variant = e.rerun_reference(**changes)
    for name, dim in out_dims.items():
        if name in variant:
            # solution[h] should equal variant[perm[h]]
            idx = torch.tensor(perm, device=variant[name].device)
            if not e.matches(name, variant[name].index_select(dim, idx)):
                return None
    pitfall = "P10" if e.definition.op_type == "gdn" else "P04"
    return pitfall, (
        f"outputs match the reference when head h uses shared head h % {shared} instead of "
        f"h // {many // shared}: grouped heads must be expanded with repeat_interleave "
        "(contiguous groups), not repeat/modulo"
    )
