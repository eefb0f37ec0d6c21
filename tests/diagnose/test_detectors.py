"""Every detector: a planted bug in a small solution is diagnosed with the right pitfall id, and
a correct solution gets no diagnosis. A judge in this process evaluates each planted solution in
its own sandbox process on CPU workloads."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from kernel_arena.diagnose.registry import registered_detectors
from kernel_arena.engine.config import RunConfig
from kernel_arena.engine.judge import Judge, JudgeSettings
from kernel_arena.engine.plan import Job
from kernel_arena.measure.timing import TimingSettings
from kernel_arena.schema import EvaluationStatus, Solution

GQA = "gqa_paged_decode_h32_kv8_d128_ps1"
MLA = "mla_paged_decode_h16_ckv512_kpe64_ps1"
GDN = "gdn_decode_qk4_v8_d128_k_last"
SOLUTIONS = Path(__file__).resolve().parents[2] / "src/kernel_arena/builtin/dataset/solutions"
BASELINE = {
    GQA: SOLUTIONS / "gqa_paged" / GQA / "gqa_paged_decode_torch" / "main.py",
    MLA: SOLUTIONS / "mla_paged" / MLA / "mla_paged_decode_torch" / "main.py",
    GDN: SOLUTIONS / "gdn" / GDN / "gdn_decode_torch" / "main.py",
}


def _evaluate(builtin, tmp_path, definition, code, workload="cpu_b4_edge", dps=True):
    solution = Solution.model_validate(
        {
            "name": "planted",
            "definition": definition,
            "author": "tests",
            "spec": {
                "language": "python",
                "target_hardware": ["cpu"],
                "entry_point": "main.py::run",
                "destination_passing_style": dps,
            },
            "sources": [{"path": "main.py", "content": code}],
        }
    )
    judge = Judge(
        "cpu",
        JudgeSettings(
            builtin.root,
            RunConfig(draws=2, timing=TimingSettings(0, 1, 1), timeout_s=120),
            secret=1234,
            cache_dir=None,
            log_dir=tmp_path / "logs",
            build_root=tmp_path,
        ),
    )
    wl = next(w for w in builtin.workloads_for(definition) if w.name == workload)
    (trace,) = judge.evaluate(Job(builtin.definitions[definition], solution, [wl]))
    assert trace.evaluation is not None
    return Outcome(trace.evaluation.status, trace.evaluation.log.splitlines())


@dataclass
class Outcome:
    """The trace's status and log lines."""

    status: EvaluationStatus
    messages: list[str]


def _baseline(definition: str, replacements: list[tuple[str, str]]) -> str:
    code = BASELINE[definition].read_text()
    for old, new in replacements:
        assert old in code, old
        code = code.replace(old, new)
    return code


def _diagnoses(outcome) -> str:
    return "\n".join(m for m in outcome.messages if m.startswith("diagnosis:"))


PLANTED = {
    "P01": (
        GQA,
        "cpu_b4_edge",
        [
            ("    output.copy_(out.reshape", "    return out, lse  # output.copy_(out.reshape"),
            ("    lse.copy_((lse_nat", "    # lse.copy_((lse_nat"),
        ],
    ),
    "P03": (GQA, "cpu_b4_edge", [("lse.copy_((lse_nat / math.log(2.0))", "lse.copy_((lse_nat)")]),
    "P04": (
        GQA,
        "cpu_b4_edge",
        [
            (
                "qg = q.float().view(batch, num_kv_heads, group, head_dim)",
                "qg = q.float().view(batch, group, num_kv_heads, head_dim).transpose(1, 2)",
            ),
            (
                "output.copy_(out.reshape(batch, num_qo_heads, head_dim))",
                "output.copy_(out.transpose(1, 2).reshape(batch, num_qo_heads, head_dim))",
            ),
            (
                "lse.copy_((lse_nat / math.log(2.0)).reshape(batch, num_qo_heads))",
                "lse.copy_((lse_nat / math.log(2.0)).transpose(1, 2).reshape(batch, num_qo_heads))",
            ),
        ],
    ),
    "P07": (MLA, "cpu_b4_edge", [("(logits * float(sm_scale))", "(logits * float(sm_scale) ** 2)")]),
    "P08": (
        GDN,
        "cpu_b1",
        [("F.softplus(a[:, 0].float() + dt_bias.float())", "F.softplus(a[:, 0].float())")],
    ),
    "P09": (GDN, "cpu_b1", [("    new_state.copy_(s)", "    new_state.copy_(s.transpose(-1, -2))")]),
    "P10": (
        GDN,
        "cpu_b1",
        [
            (
                "qf = q[:, 0].float().repeat_interleave(ratio, dim=1)",
                "qf = q[:, 0].float().repeat(1, ratio, 1)",
            ),
            (
                "kf = k[:, 0].float().repeat_interleave(ratio, dim=1)",
                "kf = k[:, 0].float().repeat(1, ratio, 1)",
            ),
        ],
    ),
    "P11": (
        GDN,
        "cpu_b1",
        [("beta = torch.sigmoid(b[:, 0].float())", "beta = torch.sigmoid(torch.sigmoid(b[:, 0].float()))")],
    ),
    "P13": (
        GDN,
        "cpu_b1",
        [
            (
                "        s = state.float() * g[..., None, None]",
                "        state.mul_(1.5)\n        s = state.float() * g[..., None, None]",
            )
        ],
    ),
    "P14": (
        GQA,
        "cpu_b4_edge",
        [
            (
                "    probs = torch.exp(logits - lse_nat[..., None]).nan_to_num(0.0)",
                "    probs = torch.exp(logits - lse_nat[..., None])",
            )
        ],
    ),
}


@pytest.mark.parametrize("pitfall", sorted(PLANTED))
def test_planted_bug_is_diagnosed(builtin, tmp_path, pitfall):
    definition, workload, replacements = PLANTED[pitfall]
    outcome = _evaluate(builtin, tmp_path, definition, _baseline(definition, replacements), workload)
    assert outcome.status != EvaluationStatus.PASSED
    assert f"({pitfall})" in _diagnoses(outcome), outcome.messages


def test_p12_wrong_output_dtype(builtin, tmp_path):
    code = _baseline(GDN, []) + textwrap.dedent("""
        _run = run

        def run(q, k, v, state, A_log, a, dt_bias, b, scale):
            out = torch.empty(q.shape[0], 1, 8, 128, dtype=torch.bfloat16)
            ns = torch.empty(q.shape[0], 8, 128, 128)
            _run(q, k, v, state, A_log, a, dt_bias, b, scale, out, ns)
            return out.float(), ns
    """)
    outcome = _evaluate(builtin, tmp_path, GDN, code, "cpu_b1", dps=False)
    assert outcome.status == EvaluationStatus.INCORRECT_DTYPE
    assert "(P12)" in _diagnoses(outcome)


def test_p20_results_cached_across_calls(builtin, tmp_path):
    code = _baseline(GDN, []) + textwrap.dedent("""
        _run = run
        _CACHE = {}

        def run(q, k, v, state, A_log, a, dt_bias, b, scale, output, new_state):
            key = tuple(q.shape)
            if key not in _CACHE:
                _run(q, k, v, state, A_log, a, dt_bias, b, scale, output, new_state)
                _CACHE[key] = (output.clone(), new_state.clone())
            output.copy_(_CACHE[key][0])
            new_state.copy_(_CACHE[key][1])
    """)
    outcome = _evaluate(builtin, tmp_path, GDN, code, "cpu_b1")
    assert outcome.status == EvaluationStatus.INCORRECT_NUMERICAL
    assert "(P20)" in _diagnoses(outcome)


@pytest.mark.parametrize(
    ("definition", "workload"), [(GQA, "cpu_b4_edge"), (MLA, "cpu_b4_edge"), (GDN, "cpu_b1")]
)
def test_correct_solution_gets_no_diagnosis(builtin, tmp_path, definition, workload):
    outcome = _evaluate(builtin, tmp_path, definition, BASELINE[definition].read_text(), workload)
    assert outcome.status == EvaluationStatus.PASSED
    assert _diagnoses(outcome) == ""


def test_wrong_but_unexplained_bug_claims_nothing(builtin, tmp_path):
    code = _baseline(GDN, [("    new_state.copy_(s)", "    new_state.copy_(s + 0.5)")])
    outcome = _evaluate(builtin, tmp_path, GDN, code, "cpu_b1")
    assert outcome.status == EvaluationStatus.INCORRECT_NUMERICAL
    assert _diagnoses(outcome) == ""


def test_every_registered_detector_is_covered():
    planted = set(PLANTED) | {"P12", "P20"}
    for det in registered_detectors():
        assert set(det.pitfall.split("/")) <= planted, f"{det.pitfall} has no planted-bug test"
