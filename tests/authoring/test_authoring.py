"""Authoring: new -> check -> run -> pack -> unpack round trip; static checks by pitfall id."""

from __future__ import annotations

import json

import pytest
from helpers import TINY_DEF, make_tiny_dataset, solution_json

import kernel_arena
from kernel_arena.authoring.check import check_solution_json
from kernel_arena.authoring.scaffold import TEMPLATES, new_solution, signature
from kernel_arena.dataset import load_dataset
from kernel_arena.dataset.solution_folder import pack_solution, unpack_solution
from kernel_arena.engine.config import RunConfig
from kernel_arena.measure.timing import TimingSettings
from kernel_arena.schema import EvaluationStatus

FAST = RunConfig(draws=1, timing=TimingSettings(0, 1, 1))


def _errors(findings):
    return [f for f in findings if f.severity == "error"]


@pytest.mark.parametrize("template", TEMPLATES)
def test_newcomer_path_on_a_generic_definition(tmp_path, template):
    root = make_tiny_dataset(tmp_path / "ds")
    ds = load_dataset(root)
    folder = new_solution(ds, TINY_DEF, f"mine_{template}", tmp_path / "sol", template)
    main = (folder / "main.py").read_text()
    assert "def run(x, y, alpha, out):" in main
    assert "x  [n] float32" in main and "alpha  scalar float32" in main
    data = json.loads((folder / "solution.json").read_text())
    assert all("content" not in s for s in data["sources"])
    assert _errors(check_solution_json(pack_solution(folder).to_json_dict(), ds.definition)) == []
    result = kernel_arena.run(
        dataset=root, solutions=[str(folder)], out=tmp_path / "out", config=FAST, device="cpu"
    )
    assert [t.evaluation.status for t in result.traces] == [EvaluationStatus.PASSED], result.traces[
        0
    ].evaluation.log
    packed = pack_solution(folder)
    unpack_solution(packed, tmp_path / "again")
    for src in packed.sources:
        assert (tmp_path / "again" / src.path).read_bytes() == (folder / src.path).read_bytes()
    assert pack_solution(tmp_path / "again").to_json_dict() == packed.to_json_dict()


@pytest.mark.parametrize("template", ["reference", "torch", "triton"])
def test_seed_op_templates_pass(builtin, tmp_path, template):
    name = "gdn_decode_qk4_v8_d128_k_last"
    folder = new_solution(builtin, name, f"my_{template}", tmp_path / "sol", template)
    assert _errors(check_solution_json(pack_solution(folder).to_json_dict(), builtin.definition)) == []
    result = kernel_arena.run(
        solutions=[str(folder)], workloads=["cpu_b1"], out=tmp_path / "out", config=FAST, device="cpu"
    )
    assert result.traces[0].passed, result.traces[0].evaluation.log


def test_signature_and_from_copy(builtin, tmp_path):
    gqa = builtin.definitions["gqa_paged_decode_h32_kv8_d128_ps1"]
    assert signature(gqa) == [
        "q",
        "k_cache",
        "v_cache",
        "kv_indptr",
        "kv_indices",
        "sm_scale",
        "output",
        "lse",
    ]
    folder = new_solution(builtin, gqa.name, "copy", tmp_path / "c", from_solution="gqa_paged_decode_torch")
    assert pack_solution(folder).name == "copy"


def _check(tmp_path, code, **kw):
    root = make_tiny_dataset(tmp_path / "ds")
    return check_solution_json(solution_json("s", code, **kw), load_dataset(root).definition)


@pytest.mark.parametrize(
    ("code", "kw", "pitfall", "text"),
    [
        ("def run(x, y, alpha):\n    return alpha * x + y\n", {}, "P01", "destination-passing"),
        ("def run(x, y, alpha, out):\n    out = alpha * x + y\n", {}, "P01", "rebinds the name"),
        ("def run(y, x, alpha, out):\n    out.copy_(x)\n", {}, "P02", "another order"),
        ("def run(x, y, alpha):\n    return (alpha * x + y).half()\n", {"dps": False}, "P12", "float16"),
        ("def run(x, y, alpha):\n    return (alpha * x + y).t()\n", {"dps": False}, "P12", "non-contiguous"),
        ("from kernels import axpy\n\ndef run(x, y, alpha, out):\n    pass\n", {}, "P16", "'kernels'"),
        ("from .helpers import f\n\ndef run(x, y, alpha, out):\n    pass\n", {}, "P16", "relative import"),
        ("def run(x, y, alpha, out):\n    pass\n", {"deps": ["not-a-real-pkg-xyz"]}, "P17", "not installed"),
        ("def run(x, y, alpha, out):\n    pass\n", {"deps": ["torch>=99"]}, "P17", "needs >=99"),
    ],
)
def test_check_catches_pitfalls_statically(tmp_path, code, kw, pitfall, text):
    findings = _check(tmp_path, code, **kw)
    hits = [f for f in findings if f.id == pitfall and text in f.message]
    assert hits, [str(f) for f in findings]
    assert hits[0].file == "main.py" or hits[0].file == "solution.json"
    assert hits[0].hint


def test_check_is_clean_on_a_good_solution(tmp_path):
    findings = _check(tmp_path, "import torch\n\ndef run(x, y, alpha, out):\n    out.copy_(alpha * x + y)\n")
    assert _errors(findings) == []


def test_cli_new_check_pack_unpack(tmp_path):
    import subprocess
    import sys

    def ka(*args):
        return subprocess.run(
            [sys.executable, "-m", "kernel_arena.cli", *args], capture_output=True, text=True, cwd=tmp_path
        )

    assert ka("new", "gdn_decode_qk4_v8_d128_k_last", "--name", "g", "--template", "torch").returncode == 0
    assert ka("check", "g").returncode == 0
    assert ka("pack", "g", "--out", "g.json").returncode == 0
    assert ka("unpack", "g.json", "g2").returncode == 0
    assert (tmp_path / "g2" / "main.py").read_bytes() == (tmp_path / "g" / "main.py").read_bytes()
    assert ka("new", "gdn_decode_qk4_v8_d128_k_last", "--name", "g").returncode == 2  # exists
    bad = ka("check", "g.json", "--json")
    assert bad.returncode == 0 and json.loads(bad.stdout)["ok"]
    r = ka("try", "g", "--workload", "cpu_b1")
    assert r.returncode == 0 and "PASSED" in r.stdout
