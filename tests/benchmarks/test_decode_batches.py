"""benchmarks/decode_batches.py: the production-shaped decode batches and the dataset folder it writes."""

from __future__ import annotations

import filecmp
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
import decode_batches as db  # noqa: E402

from kernel_arena.builtin.generate import DATASET  # noqa: E402
from kernel_arena.dataset import load_dataset, validate_dataset  # noqa: E402
from kernel_arena.measure.inputs import materialize_inputs  # noqa: E402


@pytest.mark.parametrize("op", ["gqa", "mla"])
def test_batches_are_production_shaped_and_deterministic(op):
    batches = db.decode_batches(op)
    assert len(batches) == 3 * db.PER_BUCKET
    for b in batches:
        size, lo, hi = db.BUCKETS[b.bucket]
        assert b.batch == size and lo <= b.total <= hi, b.name
        assert min(b.lengths) >= 1
        assert b.indptr[-1] == b.total == len(b.indices)
        assert b.pool > b.total and b.pool >= db.MIN_POOL  # a pool larger than the pages in use
        assert len(np.unique(b.indices)) == b.total and b.indices.max() < b.pool
        if size > 1:  # skewed: the longest sequence at least 10x the median one
            assert max(b.lengths) >= 10 * np.median(b.lengths), b.name
    assert not np.array_equal(batches[40].indices[:50], np.sort(batches[40].indices[:50]))  # scattered
    again = db.decode_batches(op)
    assert [b.name for b in again] == [b.name for b in batches]
    assert all(np.array_equal(a.indices, b.indices) for a, b in zip(again, batches))


def test_unknown_op_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown op 'gdn'"):
        db.decode_batches("gdn")


def test_written_folder_is_a_valid_dataset_with_the_generated_page_tables(tmp_path):
    out = db.write_dataset(tmp_path / "prod", per_bucket=2)
    ds = load_dataset(out)
    assert ds.problems == [] and validate_dataset(out) == []
    for op in ("gqa", "mla"):
        name, op_type, scale, _ = db.OPS[op]
        rel = Path("definitions") / op_type / f"{name}.json"
        assert filecmp.cmp(out / rel, DATASET / rel, shallow=False)  # copied from the embedded one
        workloads = ds.workloads_for(name)
        batches = db.decode_batches(op, per_bucket=2)
        assert [(w.model_extra or {})["name"] for w in workloads] == [b.name for b in batches]
        w, b = workloads[0], batches[0]
        assert set((w.model_extra or {})["tags"]) == {"gpu", "production", f"bucket:{b.bucket}"}
        inputs = materialize_inputs(ds.definitions[name], w, "cpu", 0, ds.root)
        assert torch.equal(inputs["kv_indptr"], torch.from_numpy(b.indptr))
        assert torch.equal(inputs["kv_indices"], torch.from_numpy(b.indices))
        assert inputs["sm_scale"] == pytest.approx(scale)


def test_command_line_writes_the_folder_and_rejects_unknown_ops(tmp_path):
    script = ROOT / "benchmarks" / "decode_batches.py"
    done = subprocess.run([sys.executable, str(script), "--out", str(tmp_path / "d"), "--ops", "mla",
                           "--per-bucket", "1"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "mla: 3 workloads" in done.stdout
    assert len(load_dataset(tmp_path / "d").workloads_for(db.OPS["mla"][0])) == 3
    bad = subprocess.run([sys.executable, str(script), "--out", str(tmp_path / "e"), "--ops", "gqa,xyz"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "unknown op(s) xyz" in bad.stderr and "Traceback" not in bad.stderr
