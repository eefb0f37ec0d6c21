"""P08 / P11: GDN gate and beta handled wrong — detected with reference variants."""

from __future__ import annotations

import torch

from kernel_arena.diagnose.registry import FailureEvidence, detector


def _is_gdn(e: FailureEvidence) -> bool:
    return e.outputs is not None and {"A_log", "dt_bias", "b", "q", "k"} <= set(e.inputs)


def _all_match(e: FailureEvidence, variant: dict[str, torch.Tensor]) -> bool:
    return all(e.matches(n, variant[n]) for n in e.definition.outputs)


@detector("P08", "GDN gate space", applies=_is_gdn)
def gate_space(e: FailureEvidence) -> str | None:
    """Outputs match the reference without dt_bias."""
    if not e.failing_outputs():
        return None
    dt = e.inputs["dt_bias"]
    if _all_match(e, e.rerun_reference(dt_bias=torch.zeros_like(dt))):
        return (
            "outputs match the reference with dt_bias left out: the gate is "
            "-exp(A_log) * softplus(a + dt_bias) (log space)"
        )
    return None


@detector("P11", "GDN beta / normalization flags", applies=_is_gdn)
def beta_and_norm(e: FailureEvidence) -> str | None:
    """Outputs match the reference with sigmoid applied twice to b, or with L2-normalized q/k."""
    if not e.failing_outputs():
        return None
    b = e.inputs["b"]
    if _all_match(e, e.rerun_reference(b=torch.sigmoid(b.float()).to(b.dtype))):
        return (
            "outputs match the reference with beta = sigmoid(sigmoid(b)): sigmoid is applied "
            "twice (once outside the kernel and once inside)"
        )
    q, k = e.inputs["q"], e.inputs["k"]

    def l2(t: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.normalize(t.float(), dim=-1).to(t.dtype)

    if _all_match(e, e.rerun_reference(q=l2(q), k=l2(k))):
        return (
            "outputs match the reference with q and k L2-normalized: the library's "
            "qk-l2norm option is on, the definition does not normalize"
        )
    return None
