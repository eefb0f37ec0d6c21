"""The command line: exit codes (0 ok, 1 problems, 2 usage), JSON output, no tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys

from helpers import GOOD_DPS, TINY_DEF, make_tiny_dataset, solution_json


def ka(*args: str, cwd=None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kernel_arena.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=600,
    )


def test_help_lists_commands():
    r = ka("--help")
    assert r.returncode == 0
    for cmd in ("list", "show", "validate", "run"):
        assert cmd in r.stdout


def test_list_and_show_on_embedded_dataset():
    r = ka("list", "definitions", "--json")
    assert r.returncode == 0
    names = {d["name"] for d in json.loads(r.stdout)}
    assert "gqa_paged_decode_h32_kv8_d128_ps1" in names
    r = ka("list", "workloads", "--definition", "gdn_decode_qk4_v8_d128_k_last", "--json")
    assert len(json.loads(r.stdout)) == 9
    r = ka("show", "gqa_paged_decode_h32_kv8_d128_ps1")
    assert r.returncode == 0 and "kv_indptr" in r.stdout and "def run" in r.stdout
    r = ka("show", "gdn_decode_torch")
    assert r.returncode == 0 and "main.py" in r.stdout


def test_usage_errors_exit_2_without_traceback(tmp_path):
    for args in (
        ("list", "things"),
        ("show", "nope"),
        ("list", "solutions", "--dataset", str(tmp_path / "missing")),
    ):
        r = ka(*args)
        assert r.returncode == 2, args
        assert "Traceback" not in r.stderr and "error:" in r.stderr


def test_validate_exit_codes(tmp_path):
    assert ka("validate").returncode == 0
    root = make_tiny_dataset(tmp_path)
    (root / "solutions").mkdir()
    (root / "solutions" / "bad.json").write_text("{")
    r = ka("validate", str(root), "--json")
    assert r.returncode == 1
    data = json.loads(r.stdout)
    assert not data["ok"] and data["problems"][0]["file"].endswith("bad.json")


def test_run_prints_summary_and_fails_on_failures(tmp_path):
    good = solution_json("good", GOOD_DPS)
    bad = solution_json("bad", "def run(x, y, alpha, out):\n    out.copy_(x)\n")
    root = make_tiny_dataset(tmp_path / "ds", [good, bad])
    r = ka(
        "run",
        "--dataset",
        str(root),
        "--out",
        str(tmp_path / "out"),
        "--iters",
        "2",
        "--warmup",
        "1",
        "--trials",
        "1",
        "--solution",
        "good",
    )
    assert r.returncode == 0, r.stderr
    assert "good" in r.stdout and "1/1" in r.stdout
    r = ka(
        "run",
        "--dataset",
        str(root),
        "--out",
        str(tmp_path / "out"),
        "--iters",
        "2",
        "--warmup",
        "1",
        "--trials",
        "1",
        "--json",
    )
    assert r.returncode == 1
    summary = {row["solution"]: row for row in json.loads(r.stdout)["summary"]}
    assert summary["bad"]["passed"] == 0 and summary["good"]["passed"] == 1
    r = ka("run", "--dataset", str(root), "--solution", "nope", "--out", str(tmp_path / "o2"))
    assert r.returncode == 2 and "no solution named 'nope'" in r.stderr


def test_bad_config_is_a_usage_error(tmp_path):
    cfg = tmp_path / "tol.json"
    cfg.write_text(json.dumps({"tolerance": {"default": {"atol": -1}}}))
    r = ka("run", "--config", str(cfg), "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and "tolerance.default.atol" in r.stderr


TRITON_AXPY = """
    import triton
    import triton.language as tl


    @triton.jit
    def axpy(x, y, out, alpha, n, BLOCK: tl.constexpr):
        offs = tl.arange(0, BLOCK)
        mask = offs < n
        tl.store(out + offs, alpha * tl.load(x + offs, mask=mask) + tl.load(y + offs, mask=mask), mask=mask)


    def run(x, y, alpha, out):
        axpy[(1,)](x, y, out, float(alpha), x.numel(), BLOCK=64)
"""


def test_run_times_triton_on_cpu_with_one_call_and_says_so(tmp_path):
    """Default timing: a Triton Solution (the interpreter, on CPU) gets one timed call and no
    warm-up, a Python one the CPU's budgeted counts; the trace, its log and the summary say so."""
    sols = [solution_json("tri", TRITON_AXPY, language="triton"), solution_json("py", GOOD_DPS)]
    root = make_tiny_dataset(tmp_path / "ds", sols)
    out = tmp_path / "out"
    r = ka("run", "--dataset", str(root), "--out", str(out), "--device", "cpu", "--draws", "1")
    assert r.returncode == 0, r.stdout + r.stderr
    text = " ".join(r.stdout.split())
    assert "Triton interpreter (tri), timed with 1 timed call, no warm-up" in text, text
    traces = {}
    for line in (out / "traces" / "elementwise" / f"{TINY_DEF}.jsonl").read_text().splitlines():
        t = json.loads(line)
        traces[t["solution"]] = t["evaluation"]
    timing = {name: ev["performance"]["timing"] for name, ev in traces.items()}
    assert (timing["tri"]["warmup"], timing["tri"]["iters"], timing["tri"]["trials"]) == (0, 1, 1)
    assert timing["tri"]["budget_ms"] is None
    assert timing["py"]["trials"] == 3 and timing["py"]["budget_ms"] == 100
    assert "Triton interpreter (CPU), timed with 1 timed call, no warm-up" in traces["tri"]["log"]
    assert "Triton interpreter" not in traces["py"]["log"]
