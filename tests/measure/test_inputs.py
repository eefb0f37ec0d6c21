"""Input materialization: determinism, page-table synthesis, blobs, constraints."""

from __future__ import annotations

import pytest
import torch
from helpers import make_tiny_dataset

import kernel_arena.measure.inputs as inputs_module
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


@pytest.fixture
def small_large_threshold(monkeypatch):
    """Make 'large' random inputs small (64 KiB, in 4,096-element chunks) so the tests stay quick."""
    monkeypatch.setattr(inputs_module, "LARGE_RANDOM_BYTES", 64 << 10)
    monkeypatch.setattr(inputs_module, "CHUNK_ELEMENTS", 4096)


def test_large_random_inputs_are_drawn_once_and_rolled_per_draw(builtin, small_large_threshold):
    d = builtin.definitions[GQA]
    w = _wl(builtin, GQA, "cpu_b4_edge")
    draws = [materialize_inputs(d, w, "cpu", k, builtin.root) for k in range(3)]
    k0, k1, k2 = (x["k_cache"] for x in draws)
    assert k0.numel() * k0.element_size() > 64 << 10, "the workload's KV pool must count as large here"
    # Every draw sees other values at (nearly) every position: a roll, not the same tensor.
    assert (k0 != k1).float().mean() > 0.99 and (k1 != k2).float().mean() > 0.99
    # ... but the same multiset of values, for a copy instead of a new draw.
    assert torch.equal(k0.flatten().sort().values, k1.flatten().sort().values)
    # Small random inputs still get values of their own per draw.
    assert not torch.equal(draws[0]["q"], draws[1]["q"])


def test_large_random_inputs_are_the_same_with_or_without_the_memo(builtin, small_large_threshold):
    d = builtin.definitions[GQA]
    w = _wl(builtin, GQA, "cpu_b4_edge")
    memo: dict[str, torch.Tensor] = {}
    with_memo = [materialize_inputs(d, w, "cpu", k, builtin.root, shared=memo) for k in range(3)]
    assert set(memo) == {"k_cache", "v_cache"}
    for k in range(3):
        fresh = materialize_inputs(d, w, "cpu", k, builtin.root)
        for name in ("k_cache", "v_cache", "q"):
            assert torch.equal(with_memo[k][name], fresh[name]), (k, name)


def test_chunked_draws_do_not_depend_on_the_thread_count(builtin, small_large_threshold):
    d = builtin.definitions[GQA]
    w = _wl(builtin, GQA, "cpu_b4_edge")
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        serial = materialize_inputs(d, w, "cpu", 0, builtin.root)["k_cache"]
        torch.set_num_threads(max(2, threads))
        parallel = materialize_inputs(d, w, "cpu", 0, builtin.root)["k_cache"]
    finally:
        torch.set_num_threads(threads)
    assert torch.equal(serial, parallel)
    # Chunks have seeds of their own: no chunk repeats another.
    chunks = serial.flatten().split(4096)
    assert not torch.equal(chunks[0], chunks[1])
