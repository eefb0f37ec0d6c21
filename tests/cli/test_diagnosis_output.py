"""Diagnoses beyond the catalogue where a person reads them: `try` prints the generic layout
claim (G01), the run summary's first failure carries the localisation (LOC). Real subprocesses
on a gemm dataset written here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from helpers import make_gemm_dataset, solution_json, write_json


def ka(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kernel_arena.cli", *args],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "COLUMNS": "400"},
    )


def test_try_prints_the_layout_claim(tmp_path: Path):
    root = make_gemm_dataset(tmp_path / "ds", [(64, 64)])
    sol = write_json(
        tmp_path / "forgot_t.json",
        solution_json("forgot_t", "def run(A, B, C):\n    C.copy_(A @ B)\n", definition="gemm_n64_k64"),
    )
    r = ka("try", str(sol), "--dataset", str(root), "--device", "cpu")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "Traceback" not in r.stdout + r.stderr
    assert "INCORRECT_NUMERICAL" in r.stdout
    assert (
        "diagnosis: outputs match the reference with input B transposed in axes N and K: the kernel "
        "reads B as [K, N] where the definition declares [N, K]"
    ) in " ".join(r.stdout.split())
    assert "(G01)" in r.stdout


def test_run_summary_shows_where_the_output_is_wrong(tmp_path: Path):
    code = "def run(A, B, C):\n    C.copy_(A @ B.T)\n    C[3] += 1.0\n"
    root = make_gemm_dataset(
        tmp_path / "ds", [(64, 32)], [solution_json("row3", code, definition="gemm_n64_k32")]
    )
    r = ka("run", "--dataset", str(root), "--out", str(tmp_path / "out"), "--device", "cpu", "--draws", "1")
    assert r.returncode == 1 and "Traceback" not in r.stdout + r.stderr
    # the table folds the last column over several lines: join that column's pieces
    last_column = " ".join(
        line.split("│")[-2].strip() for line in r.stdout.splitlines() if line.count("│") > 2
    )
    # a long one-liner is shortened in the middle, keeping where it starts and the pitfall id
    assert "diagnosis: C: 64 of 1024 elements wrong, only at M 3 (1 of 16)" in last_column
    assert "(a constant offset) (LOC)" in last_column
    r = ka("run", "--dataset", str(root), "--out", str(tmp_path / "out"), "--device", "cpu", "--json")
    (row,) = json.loads(r.stdout)["summary"]
    assert row["first_failure"].startswith("INCORRECT_NUMERICAL: diagnosis: C: 64 of 1024 elements wrong")
    trace = json.loads(next((tmp_path / "out" / "traces").rglob("*.jsonl")).read_text().splitlines()[-1])
    (found,) = trace["evaluation"]["diagnoses"]
    assert found["pitfall"] == "LOC" and found["detail"]["form"] == "offset"
    assert found["detail"]["axes"][0] == {"axis": "M", "size": 16, "wrong_at": "3"}
