"""`kernel-arena try`: --timeout stops a hanging Solution, --json gives one object, a missing
page-table blob suggests --synthesize-missing (which makes it run), latencies are auto-scaled, and
a Triton Solution on CPU carries the interpreter note."""

from __future__ import annotations

import json
import re
import shutil
import time

from helpers import assert_exit, kernel_arena_cli, make_tiny_dataset, solution_json

from kernel_arena.dataset import builtin_dataset_path

HANGS = solution_json("hangs", "def run(x, y, alpha, out):\n    while True:\n        pass\n")
SLOW = solution_json(
    "slow", "import time\n\ndef run(x, y, alpha, out):\n    time.sleep(0.004)\n    out.copy_(alpha * x + y)\n"
)
WRONG = solution_json("wrong", "def run(x, y, alpha, out):\n    out.copy_(x)\n")
TRITON = solution_json(
    "tiny_triton",
    """
    import triton
    import triton.language as tl


    @triton.jit
    def _scale_add(x_ptr, y_ptr, out_ptr, alpha, n, BLOCK: tl.constexpr):
        offs = tl.arange(0, BLOCK)
        mask = offs < n
        x = tl.load(x_ptr + offs, mask=mask)
        y = tl.load(y_ptr + offs, mask=mask)
        tl.store(out_ptr + offs, alpha * x + y, mask=mask)


    def run(x, y, alpha, out):
        _scale_add[(1,)](x, y, out, float(alpha), x.numel(), BLOCK=64)
    """,
    language="triton",
)


def test_timeout_stops_a_hanging_solution(tmp_path):
    root = make_tiny_dataset(tmp_path / "ds", [HANGS])
    t0 = time.monotonic()
    r = kernel_arena_cli("try", "hangs", "--dataset", str(root), "--device", "cpu", "--timeout", "3")
    assert_exit(r, 1)
    assert r.stdout.startswith("TIMEOUT hangs on wl-0"), r.stdout
    assert time.monotonic() - t0 < 120
    r = kernel_arena_cli("try", "hangs", "--dataset", str(root), "--timeout", "0")
    assert_exit(r, 2)
    assert "--timeout must be a positive number of seconds" in r.stderr


def test_json_output_is_one_object(tmp_path):
    root = make_tiny_dataset(tmp_path / "ds", [WRONG, SLOW])
    r = kernel_arena_cli("try", "wrong", "--dataset", str(root), "--device", "cpu", "--json")
    assert_exit(r, 1)
    out = json.loads(r.stdout)
    assert out["status"] == "INCORRECT_NUMERICAL" and out["passed"] is False
    assert out["solution"] == "wrong" and out["workload"]["uuid"] == "wl-0"
    assert out["max_abs_error"] > 0 and "log" in out and isinstance(out["diagnoses"], list)
    r = kernel_arena_cli("try", "slow", "--dataset", str(root), "--device", "cpu", "--json")
    assert_exit(r, 0)
    out = json.loads(r.stdout)
    assert out["status"] == "PASSED" and out["latency_ms"] > 3.5
    assert out["timing_method"] == "wall_clock_cpu" and out["notes"] == []


def test_latency_is_printed_in_auto_scaled_units(tmp_path):
    root = make_tiny_dataset(tmp_path / "ds", [SLOW])
    r = kernel_arena_cli("try", "slow", "--dataset", str(root), "--device", "cpu")
    assert_exit(r, 0)
    latency = re.search(r"^latency (\S+) (\S+) \(wall_clock_cpu\)", r.stdout, re.MULTILINE)
    assert latency is not None, r.stdout
    assert latency.group(2) == "ms" and 3.5 < float(latency.group(1)) < 1000, r.stdout


def test_triton_on_cpu_carries_the_interpreter_note(tmp_path):
    root = make_tiny_dataset(tmp_path / "ds", [TRITON])
    r = kernel_arena_cli("try", "tiny_triton", "--dataset", str(root), "--device", "cpu")
    assert_exit(r, 0)
    assert "note: on CPU, Triton solutions run in the Triton interpreter (tiny_triton)" in r.stdout


def test_a_missing_page_table_blob_suggests_synthesize_missing(tmp_path):
    clone = tmp_path / "clone"
    shutil.copytree(builtin_dataset_path(), clone)
    shutil.rmtree(clone / "blob")
    args = ("try", "gqa_paged_decode_torch", "--dataset", str(clone), "--device", "cpu")
    r = kernel_arena_cli(*args, "--workload", "cpu_b4_edge")
    assert_exit(r, 1)
    assert "cpu_b4_edge.safetensors does not exist" in r.stdout
    assert "--synthesize-missing can synthesize" in r.stdout
    r = kernel_arena_cli(*args, "--workload", "cpu_b4_edge", "--synthesize-missing")
    assert_exit(r, 0)
    assert r.stdout.startswith("PASSED gqa_paged_decode_torch on cpu_b4_edge")


def test_a_schema_invalid_solution_is_one_located_line(tmp_path):
    r = kernel_arena_cli("new", "gdn_decode_qk4_v8_d128_k_last", "--name", "mine", cwd=tmp_path)
    assert_exit(r, 0)
    spec_file = tmp_path / "mine" / "solution.json"
    spec = json.loads(spec_file.read_text())
    del spec["author"]
    spec["spec"]["language"] = "rust"
    spec_file.write_text(json.dumps(spec))
    r = kernel_arena_cli("try", "mine", cwd=tmp_path)
    assert_exit(r, 2)
    assert r.stderr.strip().splitlines() == [
        "error: mine/solution.json: author: required field is missing; spec.language: Input should be "
        "'python', 'triton', 'cpp', 'cuda' or 'tilelang'"
    ]
    r = kernel_arena_cli("check", "mine", cwd=tmp_path)
    assert_exit(r, 1)
    assert "mine/solution.json: error SCHEMA: author: required field is missing" in r.stdout
    assert "SCHEMA: :" not in r.stdout and "Field required" not in r.stdout
