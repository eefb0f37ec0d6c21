"""Input materialization: determinism, page-table synthesis, blobs, constraints."""

from __future__ import annotations

import pytest
import torch
from helpers import make_tiny_dataset

from kernel_arena.dataset import load_dataset
from kernel_arena.measure.inputs import (
    InputError,
    materialize_inputs,
    synthesize_page_table,
)

GQA = "gqa_paged_decode_h32_kv8_d128_ps1"


def _wl(ds, definition, name):
    return next(w for w in ds.workloads_for(definition) if (w.model_extra or {}).get("name") == name)


def test_deterministic_per_uuid_and_draw(builtin):
    d = builtin.definitions[GQA]
    w = _wl(builtin, GQA, "cpu_b4_edge")
    a = materialize_inputs(d, w, "cpu", 0, builtin.root)
    b = materialize_inputs(d, w, "cpu", 0, builtin.root)
    c = materialize_inputs(d, w, "cpu", 1, builtin.root)
    assert torch.equal(a["q"], b["q"]) and not torch.equal(a["q"], c["q"])
    assert list(a) == list(d.inputs)
    assert a["kv_indptr"].tolist() == [0, 0, 1, 8, 41]  # from the safetensors blob
    assert a["sm_scale"] == pytest.approx(128**-0.5)


def test_random_page_table_is_synthesized_valid(builtin):
    d = builtin.definitions[GQA]
    w = _wl(builtin, GQA, "cpu_b2_random_table")
    x = materialize_inputs(d, w, "cpu", 0, builtin.root)
    indptr, indices = x["kv_indptr"], x["kv_indices"]
    assert indptr.dtype == torch.int32 and indices.dtype == torch.int32
    assert indptr[0] == 0 and indptr[-1] == indices.numel() == w.axes["num_kv_indices"]
    assert bool((indptr[1:] >= indptr[:-1]).all())
    assert len(set(indices.tolist())) == indices.numel()
    assert int(indices.max()) < w.axes["num_pages"]


def test_synthesize_rejects_impossible_pool():
    with pytest.raises(InputError, match="distinct pages"):
        synthesize_page_table(2, 10, 5, 0)


def test_missing_blob_is_an_error_unless_synthesized(builtin, tmp_path):
    import shutil

    shutil.copytree(builtin.root, tmp_path / "ds")
    blob = next((tmp_path / "ds" / "blob").rglob(f"{GQA}/cpu_b4_edge.safetensors"))
    blob.unlink()
    ds = load_dataset(tmp_path / "ds")
    d = ds.definitions[GQA]
    w = _wl(ds, GQA, "cpu_b4_edge")
    with pytest.raises(InputError, match="cpu_b4_edge.safetensors does not exist"):
        materialize_inputs(d, w, "cpu", 0, ds.root)
    x = materialize_inputs(d, w, "cpu", 0, ds.root, synthesize_missing=True)
    assert int(x["kv_indptr"][-1]) == w.axes["num_kv_indices"]


def test_blob_with_wrong_dtype_is_named(tmp_path):
    from helpers import tiny_workload, write_jsonl
    from safetensors.torch import save_file

    root = make_tiny_dataset(tmp_path)
    save_file({"x": torch.zeros(32, dtype=torch.float16)}, str(root / "blob.safetensors"))
    wl = tiny_workload("w", n=32)
    wl["workload"]["inputs"]["x"] = {"type": "safetensors", "path": "./blob.safetensors", "tensor_key": "x"}
    write_jsonl(root / "workloads" / "elementwise" / "scale_add_n.jsonl", [wl])
    ds = load_dataset(root)
    with pytest.raises(InputError, match="dtype float16, definition says float32"):
        materialize_inputs(
            ds.definitions["scale_add_n"], ds.workloads_for("scale_add_n")[0], "cpu", 0, ds.root
        )


def test_violated_constraint_is_reported(builtin):
    d = builtin.definitions[GQA]
    w = _wl(builtin, GQA, "cpu_b4_edge").model_copy(deep=True)
    w.axes["num_kv_indices"] = 40  # the blob has 41 indices
    with pytest.raises(InputError, match="shape"):
        materialize_inputs(d, w, "cpu", 0, builtin.root)


def test_optional_input_omitted_is_none(builtin):
    d = builtin.definitions["gdn_decode_qk4_v8_d128_k_last"]
    w = _wl(builtin, d.name, "cpu_b2_no_state_default_scale")
    assert materialize_inputs(d, w, "cpu", 0, builtin.root)["state"] is None
