"""The engine end to end on CPU: every status from a purpose-built solution, isolation, resume."""

from __future__ import annotations

import subprocess
import time

import pytest
from helpers import (
    GOOD_DPS,
    GOOD_RETURNING,
    TINY_DEF,
    kill_run,
    make_tiny_dataset,
    run_command,
    solution_json,
    tiny_definition,
    write_json,
)

import kernel_arena
from kernel_arena.dataset import load_dataset, validate_dataset
from kernel_arena.engine.config import RunConfig
from kernel_arena.measure.timing import TimingSettings
from kernel_arena.schema import EvaluationStatus as S

FAST = RunConfig(timing=TimingSettings(1, 2, 1), timeout_s=60, draws=2)

BAD = {
    "good_dps": (GOOD_DPS, {}),
    "good_returning": (GOOD_RETURNING, {"dps": False}),
    "raises": ("def run(x, y, alpha, out):\n    raise ValueError('boom from kernel')\n", {}),
    "segfault": ("import ctypes\n\ndef run(x, y, alpha, out):\n    ctypes.string_at(0)\n", {}),
    "exits": ("import os\n\ndef run(x, y, alpha, out):\n    os._exit(7)\n", {}),
    "sys_exit": ("import sys\n\ndef run(x, y, alpha, out):\n    sys.exit(3)\n", {}),
    "wrong_shape": ("def run(x, y, alpha):\n    return (alpha * x + y)[:-1]\n", {"dps": False}),
    "wrong_dtype": ("def run(x, y, alpha):\n    return (alpha * x + y).double()\n", {"dps": False}),
    "wrong_numbers": ("def run(x, y, alpha, out):\n    out.copy_(x + y)\n", {}),
    "returns_instead": ("def run(x, y, alpha, out):\n    return alpha * x + y\n", {}),
    "mutates": ("def run(x, y, alpha, out):\n    y.mul_(1.0001)\n    out.copy_(alpha * x + y)\n", {}),
    "missing_dep": (GOOD_DPS, {"deps": ["surely-not-installed-pkg>=1"]}),
    "bad_import": ("from helper_kernel import scale\n\ndef run(x, y, alpha, out):\n    pass\n", {}),
    "sibling_import": (
        "from kernel import axpy\n\ndef run(x, y, alpha, out):\n    axpy(x, y, alpha, out)\n",
        {"extra_sources": {"kernel.py": "def axpy(x, y, a, out):\n    out.copy_(a * x + y)\n"}},
    ),
    "gpu_only": (GOOD_DPS, {"targets": ["cuda"]}),
    "aborts": ("import os\n\ndef run(x, y, alpha, out):\n    os.abort()\n", {}),
    "huge_alloc": (
        "import torch\n\ndef run(x, y, alpha, out):\n    torch.empty(1 << 50, dtype=torch.uint8)\n",
        {},
    ),
    "nan_out": ("def run(x, y, alpha, out):\n    out.copy_(alpha * x + y)\n    out[0] = float('nan')\n", {}),
    "noncontig": (
        "import torch\n\ndef run(x, y, alpha):\n    r = alpha * x + y\n    return torch.stack([r, r], 1)[:, 0]\n",
        {"dps": False},
    ),
    "noisy": (
        "import sys\n\ndef run(x, y, alpha, out):\n    sys.stdout.write('x' * 3_000_000)\n"
        "    out.copy_(alpha * x + y)\n",
        {},
    ),
}


@pytest.fixture(scope="module")
def bad_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("ds")
    sols = [solution_json(name, code, **kw) for name, (code, kw) in BAD.items()]
    make_tiny_dataset(root, sols, workloads=2)
    out = tmp_path_factory.mktemp("out")
    result = kernel_arena.run(dataset=root, out=out, config=FAST, device="cpu")
    by = {}
    for t in result.traces:
        by.setdefault(t.solution, []).append(t)
    return root, out, result, by


@pytest.mark.parametrize(
    ("solution", "status", "log_has"),
    [
        ("good_dps", S.PASSED, None),
        ("good_returning", S.PASSED, None),
        ("sibling_import", S.PASSED, None),
        ("raises", S.RUNTIME_ERROR, "ValueError: boom from kernel"),
        ("segfault", S.RUNTIME_ERROR, "SIGSEGV"),
        ("exits", S.RUNTIME_ERROR, "exited with code 7"),
        ("sys_exit", S.RUNTIME_ERROR, "SystemExit"),
        ("wrong_shape", S.INCORRECT_SHAPE, "out: shape [3"),
        ("wrong_dtype", S.INCORRECT_DTYPE, "dtype float64, expected float32"),
        ("wrong_numbers", S.INCORRECT_NUMERICAL, "elements differ"),
        ("returns_instead", S.INCORRECT_NUMERICAL, "(P01)"),
        ("mutates", S.INCORRECT_NUMERICAL, "(P13)"),
        ("missing_dep", S.COMPILE_ERROR, "surely-not-installed-pkg"),
        ("bad_import", S.COMPILE_ERROR, "helper_kernel"),
        ("noisy", S.PASSED, "bytes of output truncated"),
        ("aborts", S.RUNTIME_ERROR, "SIGABRT"),
        ("huge_alloc", S.RUNTIME_ERROR, "RuntimeError"),
        ("nan_out", S.INCORRECT_NUMERICAL, "NaN where the reference is finite"),
        ("noncontig", S.PASSED, "non-contiguous view"),
    ],
)
def test_each_solution_gets_its_status(bad_run, solution, status, log_has):
    _, _, _, by = bad_run
    traces = by[solution]
    assert len(traces) == 2, "every workload of every solution is traced, the run went on"
    for t in traces:
        assert t.evaluation.status == status, t.evaluation.log
        if log_has:
            assert log_has in t.evaluation.log
        if status == S.PASSED:
            perf = t.evaluation.performance
            assert perf.latency_ms > 0 and perf.reference_latency_ms > 0
            assert perf.speedup_factor == pytest.approx(perf.reference_latency_ms / perf.latency_ms)
            assert perf.model_extra["timing"]["method"] == "wall_clock_cpu"
            assert "call_latency_ms" in perf.model_extra
            judge = perf.model_extra["timing"]["harness_ms"]
            for phase in (
                "inputs",
                "reference",
                "lend",
                "call_roundtrip",
                "compare",
                "mutation_check",
                "timing_inputs",
                "timing_roundtrip",
                "timed_output_check",
            ):
                assert judge[phase] >= 0, phase
            assert perf.model_extra["timing"]["sandbox_ms"]["timed_calls"] >= 0
        if status == S.INCORRECT_NUMERICAL:
            assert t.evaluation.correctness is not None


def test_gpu_only_solution_is_skipped_not_failed(bad_run):
    _, _, result, by = bad_run
    assert "gpu_only" not in by
    assert any(s.solution == "gpu_only" and "cuda" in s.reason for s in result.skipped)


def test_traces_pass_validation_and_environment_is_recorded(bad_run):
    root, out, _, _ = bad_run
    assert [p for p in validate_dataset(out) if p.severity == "error"] == []
    view = load_dataset(out)
    assert view.root == root
    t = next(t for t in view.traces if t.solution == "good_dps")
    assert t.evaluation.environment.hardware.startswith("CPU")
    assert "torch" in t.evaluation.environment.libs


def test_missing_dependency_named_with_pitfall(bad_run):
    log = bad_run[3]["missing_dep"][0].evaluation.log
    assert "dependency 'surely-not-installed-pkg' is not importable" in log and "P17" in log


def test_rerun_skips_done_triples_and_hits_reference_cache(tmp_path):
    root = make_tiny_dataset(tmp_path / "ds", [solution_json("a", GOOD_DPS)], workloads=2)
    out = tmp_path / "out"
    first = kernel_arena.run(dataset=root, out=out, config=FAST, device="cpu")
    assert len(first.traces) == 2
    cache = sorted((out / ".cache" / "reference").rglob("*.safetensors"))
    assert len(cache) == 4  # 2 workloads x 2 draws
    inodes = {p: p.stat().st_ino for p in cache}
    again = kernel_arena.run(dataset=root, out=out, config=FAST, device="cpu")
    assert again.traces == [] and again.already_done == 2
    forced = kernel_arena.run(dataset=root, out=out, config=FAST, device="cpu", force=True)
    assert len(forced.traces) == 2
    assert {p: p.stat().st_ino for p in cache} == inodes, "reference outputs were recomputed"
    lines = (out / "traces" / "elementwise" / f"{TINY_DEF}.jsonl").read_text().splitlines()
    assert len(lines) == 2, "force replaces traces instead of duplicating them"


def test_hang_times_out_and_run_continues(tmp_path):
    hang = solution_json("hang", "def run(x, y, alpha, out):\n    while True:\n        pass\n")
    good = solution_json("z_good", GOOD_DPS)
    root = make_tiny_dataset(tmp_path / "ds", [hang, good], workloads=2)
    cfg = RunConfig(timing=TimingSettings(1, 2, 1), timeout_s=4, draws=1)
    t0 = time.monotonic()
    result = kernel_arena.run(dataset=root, out=tmp_path / "out", config=cfg, device="cpu")
    statuses = {(t.solution, t.workload.uuid): t.evaluation.status for t in result.traces}
    assert statuses[("hang", "wl-0")] == S.TIMEOUT
    assert statuses[("hang", "wl-1")] == S.TIMEOUT
    assert statuses[("z_good", "wl-0")] == S.PASSED
    assert "no result after 4 s" in result.traces[0].evaluation.log
    assert time.monotonic() - t0 < 60


def test_child_process_of_a_solution_is_killed_with_its_worker(tmp_path):
    marker = tmp_path / "child_alive"
    code = f"""
import subprocess, sys
def run(x, y, alpha, out):
    subprocess.Popen([sys.executable, "-c",
        "import time, pathlib\\nwhile True:\\n    pathlib.Path({str(marker)!r}).touch(); time.sleep(0.2)"])
    while True:
        pass
"""
    root = make_tiny_dataset(tmp_path / "ds", [solution_json("spawner", code)], workloads=1)
    cfg = RunConfig(timing=TimingSettings(1, 2, 1), timeout_s=4, draws=1)
    result = kernel_arena.run(dataset=root, out=tmp_path / "out", config=cfg, device="cpu")
    assert result.traces[0].evaluation.status == S.TIMEOUT
    time.sleep(0.5)
    marker.unlink(missing_ok=True)
    time.sleep(1.0)
    assert not marker.exists(), "the solution's child process outlived its worker"


def test_resume_after_kill_minus_9_has_no_loss_and_no_duplicates(tmp_path):
    slow = solution_json(
        "slow",
        "import time\n\ndef run(x, y, alpha, out):\n    time.sleep(0.05)\n    out.copy_(alpha * x + y)\n",
    )
    root = make_tiny_dataset(tmp_path / "ds", [slow], workloads=6)
    out = tmp_path / "out"
    traces_file = out / "traces" / "elementwise" / f"{TINY_DEF}.jsonl"
    cmd = run_command(root, out)
    kill_run(cmd, until=lambda: traces_file.exists() and traces_file.read_text().count("\n") >= 2)
    done_before = traces_file.read_text().count("\n")
    assert 2 <= done_before < 6
    subprocess.run(cmd, check=True, capture_output=True)
    view = load_dataset(out)
    keys = [t.key for t in view.traces]
    assert len(keys) == 6 and len(set(keys)) == 6
    assert all(t.evaluation.status == S.PASSED for t in view.traces)


def test_torn_trace_line_is_cut_before_appending(tmp_path):
    root = make_tiny_dataset(tmp_path / "ds", [solution_json("a", GOOD_DPS)], workloads=2)
    out = tmp_path / "out"
    kernel_arena.run(dataset=root, out=out, config=FAST, device="cpu", workloads=["wl-0"])
    path = out / "traces" / "elementwise" / f"{TINY_DEF}.jsonl"
    path.write_text(path.read_text() + '{"definition": "scale_add_n", "workl')
    with pytest.warns(UserWarning, match="torn last line"):
        kernel_arena.run(dataset=root, out=out, config=FAST, device="cpu")
    keys = [t.key for t in load_dataset(out).traces]
    assert sorted(k[2] for k in keys) == ["wl-0", "wl-1"]


def test_a_slow_reference_does_not_make_a_correct_solution_time_out(tmp_path):
    """The timeout bounds the Solution's build, calls and timing loops, not the judge's reference."""
    slow_reference = "import time\n\ndef run(x, y, alpha):\n    time.sleep(1.5)\n    return alpha * x + y\n"
    root = make_tiny_dataset(tmp_path / "ds", [solution_json("good", GOOD_DPS)])
    write_json(
        root / "definitions" / "elementwise" / "scale_add_n.json", tiny_definition(reference=slow_reference)
    )
    cfg = RunConfig(timing=TimingSettings(0, 1, 1), timeout_s=1.0, draws=1, reference_timing=False)
    result = kernel_arena.run(dataset=root, out=tmp_path / "out", config=cfg, device="cpu")
    assert [t.evaluation.status for t in result.traces] == [S.PASSED], result.traces[0].evaluation.log
