"""Every detector: a planted bug in a small solution is diagnosed with the right pitfall id, and
a correct solution gets no diagnosis. A judge in this process evaluates each planted solution in
its own sandbox process on CPU workloads. Beyond the catalogue: the generic layout detector
(G01/G02, planted on the embedded GQA and on gemm definitions written here) and the failure
localisation (LOC) when nothing names a cause."""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers import make_gemm_dataset

from kernel_arena.dataset import load_dataset
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


def _evaluate(ds, tmp_path, definition, code, workload="cpu_b4_edge", dps=True):
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
            ds.root,
            RunConfig(draws=2, timing=TimingSettings(0, 1, 1), timeout_s=120),
            secret=1234,
            cache_dir=None,
            log_dir=tmp_path / "logs",
            build_root=tmp_path,
        ),
    )
    wl = next(w for w in ds.workloads_for(definition) if w.name == workload)
    (trace,) = judge.evaluate(Job(ds.definitions[definition], solution, [wl]))
    assert trace.evaluation is not None
    return Outcome(trace.evaluation.status, trace.evaluation.log.splitlines(), trace.diagnoses)


@dataclass
class Outcome:
    """The trace's status, log lines and stored diagnoses."""

    status: EvaluationStatus
    messages: list[str]
    diagnoses: list[dict]


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
            (
                "    for key in keys:",
                "    return _attend(q, k_cache, v_cache, kv_indptr, kv_indices, float(sm_scale), lengths, None)\n"
                "    for key in keys:",
            ),
        ],
    ),
    "P03": (GQA, "cpu_b4_edge", [("lse_2 = (lse_nat / math.log(2.0))", "lse_2 = (lse_nat)")]),
    "P04": (
        GQA,
        "cpu_b4_edge",
        [
            (
                "qg = q.float().view(batch, num_kv_heads, group, head_dim)",
                "qg = q.float().view(batch, group, num_kv_heads, head_dim).transpose(1, 2)",
            ),
            (
                "out = out.reshape(batch, num_qo_heads, head_dim)",
                "out = out.transpose(1, 2).reshape(batch, num_qo_heads, head_dim)",
            ),
            (
                "lse_2 = (lse_nat / math.log(2.0)).reshape(batch, num_qo_heads)",
                "lse_2 = (lse_nat / math.log(2.0)).transpose(1, 2).reshape(batch, num_qo_heads)",
            ),
        ],
    ),
    "P07": (MLA, "cpu_b4_edge", [("(logits * sm_scale)", "(logits * sm_scale**2)")]),
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


def test_every_registered_detector_is_covered():
    planted = set(PLANTED) | {"P12", "P20", "G01", "G02", "LOC"}
    for det in registered_detectors():
        assert set(det.pitfall.split("/")) <= planted, f"{det.pitfall} has no planted-bug test"


# ------------------------------------------------------------------ beyond the catalogue
def _pitfalls(outcome) -> list[str]:
    return [d["pitfall"] for d in outcome.diagnoses]


def test_a_catalogue_claim_stops_the_generic_detectors(builtin, tmp_path):
    # new_state transposed is P09; the generic G02 would say "axes swapped" as well, and the
    # localisation would describe it: neither runs once the catalogue named the cause
    code = _baseline(GDN, [("    new_state.copy_(s)", "    new_state.copy_(s.transpose(-1, -2))")])
    outcome = _evaluate(builtin, tmp_path, GDN, code, "cpu_b1")
    assert _pitfalls(outcome) == ["P09"], outcome.messages


@pytest.fixture(scope="module")
def gemms(tmp_path_factory):
    return load_dataset(make_gemm_dataset(tmp_path_factory.mktemp("gemm"), [(64, 64), (64, 32)]))


def test_g01_gemm_that_forgot_the_transpose(gemms, tmp_path):
    # B is stored [N, K]; the kernel multiplies by B instead of B.T (square, so it runs)
    code = "def run(A, B, C):\n    C.copy_(A @ B)\n"
    outcome = _evaluate(gemms, tmp_path, "gemm_n64_k64", code, "m16")
    assert outcome.status == EvaluationStatus.INCORRECT_NUMERICAL
    assert _pitfalls(outcome) == ["G01"], outcome.messages
    (found,) = outcome.diagnoses
    assert "input B transposed in axes N and K" in found["message"]
    assert found["detail"] == {"input": "B", "swapped_axes": ["N", "K"]}


def test_g01_gemm_reading_b_with_the_other_layouts_strides(gemms, tmp_path):
    # non-square: the kernel indexes B's memory as if it were [K, N] (what a strided kernel
    # that forgot the transpose computes); reshape + transpose would be the right reading
    code = "def run(A, B, C):\n    C.copy_(A @ B.reshape(B.shape[1], B.shape[0]))\n"
    outcome = _evaluate(gemms, tmp_path, "gemm_n64_k32", code, "m16")
    assert _pitfalls(outcome) == ["G01"], outcome.messages
    assert "input B's memory read as [K, N]" in outcome.diagnoses[0]["message"]


def test_g02_gemm_output_written_in_the_other_layout(gemms, tmp_path):
    code = "def run(A, B, C):\n    C.view(B.shape[0], A.shape[0]).copy_((A @ B.T).T)\n"
    outcome = _evaluate(gemms, tmp_path, "gemm_n64_k32", code, "m16")
    assert _pitfalls(outcome) == ["G02"], outcome.messages
    assert "axes M and N swapped: the kernel writes [N, M]" in outcome.diagnoses[0]["message"]


def test_g02_query_heads_written_in_reverse_order(builtin, tmp_path):
    code = _baseline(
        GQA,
        [
            (
                "out = out.reshape(batch, num_qo_heads, head_dim)",
                "out = out.reshape(batch, num_qo_heads, head_dim).flip(1)",
            )
        ],
    )
    outcome = _evaluate(builtin, tmp_path, GQA, code, "cpu_b4_edge")
    assert _pitfalls(outcome) == ["G02"], outcome.messages
    (found,) = outcome.diagnoses
    assert (
        "output matches the reference with its num_qo_heads slices reordered (in reverse order)"
        in (found["message"])
    )
    assert found["detail"]["mapping"] == list(range(31, -1, -1))


def test_loc_constant_offset_everywhere(builtin, tmp_path):
    # no catalogue entry explains new_state + 0.5: the localisation says what the error is
    code = _baseline(GDN, [("    new_state.copy_(s)", "    new_state.copy_(s + 0.5)")])
    outcome = _evaluate(builtin, tmp_path, GDN, code, "cpu_b1")
    assert outcome.status == EvaluationStatus.INCORRECT_NUMERICAL
    assert _pitfalls(outcome) == ["LOC"], outcome.messages
    (found,) = outcome.diagnoses
    # (a few elements with |expected| > 49 are within rtol of the offset)
    assert re.match(
        r"new_state: 1310\d\d of 131072 elements wrong, spread over every axis;", found["message"]
    )
    assert "got = expected + 0.5 on every wrong element (a constant offset)" in found["message"]
    assert found["detail"]["form"] == "offset" and abs(found["detail"]["offset"] - 0.5) < 1e-6


def test_loc_one_head_scaled(builtin, tmp_path):
    code = _baseline(
        GQA,
        [
            (
                "    out = out.reshape(batch, num_qo_heads, head_dim)",
                "    out = out.reshape(batch, num_qo_heads, head_dim).clone()\n    out[:, 5] *= 1.5",
            )
        ],
    )
    outcome = _evaluate(builtin, tmp_path, GQA, code, "cpu_b4_edge")
    assert _pitfalls(outcome) == ["LOC"], outcome.messages
    (found,) = outcome.diagnoses
    # row 0 is an empty sequence (output 0, unchanged by the scale): rows 1-3 are wrong
    assert "only at batch_size 1-3 (3 of 4), num_qo_heads 5 (1 of 32)" in found["message"]
    assert "got = 1.5 x expected on every wrong element (a scale)" in found["message"]
    worst = found["detail"]["worst"]
    assert worst["index"][1] == 5 and abs(worst["got"] - 1.5 * worst["expected"]) < 1e-3


def test_loc_nan_in_one_sequence(builtin, tmp_path):
    code = _baseline(
        GDN, [("    output.copy_(out[:, None])", "    out[1] = float('nan')\n    output.copy_(out[:, None])")]
    )
    outcome = _evaluate(builtin, tmp_path, GDN, code, "cpu_b3")
    assert _pitfalls(outcome) == ["LOC"], outcome.messages
    (found,) = outcome.diagnoses
    assert found["message"].startswith("output: 1024 of 3072 elements wrong, only at batch_size 1 (1 of 3)")
    assert "NaN at 33.3% (1024) where the reference is finite" in found["message"]
    assert found["detail"]["worst"]["got"] == "NaN" and found["detail"]["worst"]["index"][0] == 1
    assert abs(found["detail"]["nan_fraction"] - 1 / 3) < 1e-9
