"""benchmarks/tune_attention.py: a swept configuration counts only if its outputs agree with the
Solution's own run() (a fast wrong configuration is no candidate for a plan); the split set's
search space, resolved and launched as the sweep does."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
import tune_attention as ta  # noqa: E402
from tune_attention import outputs_agree  # noqa: E402


def _outputs() -> list[torch.Tensor]:
    out = torch.randn(3, 4, 8).to(torch.bfloat16)
    lse = torch.randn(3, 4)
    lse[1] = float("-inf")  # an empty sequence
    return [out, lse]


def test_equal_and_nearly_equal_outputs_agree():
    expected = _outputs()
    assert outputs_agree([t.clone() for t in expected], expected)
    near = [expected[0].float().add(1e-3).to(torch.bfloat16), expected[1] + 1e-3]
    assert outputs_agree(near, expected)


def test_wrong_values_shapes_or_infinities_disagree():
    expected = _outputs()
    wrong = [expected[0].clone(), expected[1].clone()]
    wrong[0][0, 0, 0] += 1
    assert not outputs_agree(wrong, expected)
    finite_where_empty = [expected[0], torch.nan_to_num(expected[1], neginf=0.0)]
    assert not outputs_agree(finite_where_empty, expected)
    nan = [expected[0], expected[1].clone()]
    nan[1][0, 0] = float("nan")
    assert not outputs_agree(nan, expected)
    assert not outputs_agree([expected[0][:2], expected[1]], expected)


def test_split_set_sweeps_mla_on_every_batch_16_and_64_production_batch():
    assert set(ta.SPACES["split"]) == {"mla"}
    assert "split" in ta.PRODUCTION_SETS and ta.SHAPES["split"] == [] and ta.EMBEDDED["split"] == ()
    picked = ta.production_subset("mla", "split" in ta.EVERY_PRODUCTION_BATCH, ta.EVERY_PRODUCTION_BATCH["split"])
    assert len(picked) == 32 and {b.bucket for _, b, _ in picked} == {"b16", "b64"}
    assert len(ta.production_subset("mla")) == 20  # the other production sets keep their subset
    assert len(ta.production_subset("mla", every=True)) == 48


def test_split_space_is_small_and_holds_run_s_own_plan():
    """16 configurations a shape: d_split 1 at 4 and 8 warps (5 stages), d_split 2 at 4 warps with
    5 and 3 stages, each with 32- and 64-token tiles and run()'s chunk and twice it; run()'s plan of
    the time among them."""
    from solutions.test_triton_kernels import MLA, _load

    mod = _load(MLA)
    space = ta.SPACES["split"]["mla"]
    configs = ta.configurations(space)
    assert len(configs) == 16 and ta.space_names(space)[0] == "d_split"
    assert {(c["d_split"], c["num_warps"], c["num_stages"]) for c in configs} == {(1, 4, 5), (1, 8, 5), (2, 4, 5),
                                                                                 (2, 4, 3)}
    assert {c["block_n"] for c in configs} == {32, 64}
    assert {c["chunk"] for c in configs} == {ta.PlanChunk(1), ta.PlanChunk(2)}
    plan = {"d_split": 1, "block_n": 32, "num_warps": 4, "num_stages": mod.NUM_STAGES, "chunk": ta.PlanChunk(1),
            "merge_last": 8}  # run()'s last-arrival bound when this set was measured (3 since mergelast)
    assert plan in configs  # decode's other defaults (merge_heads) are run()'s too
    with pytest.raises(ValueError, match="keys"):
        ta.configurations([{"a": [1], "b": [2]}, {"b": [2], "a": [1]}])


@pytest.mark.slow
def test_split_configurations_agree_with_run_on_cpu():
    """Every configuration of the split set, as the sweep resolves and launches it, through the
    Triton interpreter: its outputs agree with the Solution's run() (what the GPU sweep checks)."""
    from solutions.test_triton_kernels import MLA, _load, _mla_inputs

    if os.environ.get("TRITON_INTERPRET") != "1":
        pytest.skip("CPU tensors: runs through the Triton interpreter")
    mod = _load(MLA)
    lengths = [12, 3, 0, 9, 1]  # run() plans chunks of 8 on the CPU (8 "SMs"): 2 slots for the first
    qn, qp, ckv, kpe, indptr, indices = _mla_inputs(lengths, 5, 4)
    inputs = {"q_nope": qn, "q_pe": qp, "ckv_cache": ckv, "kpe_cache": kpe, "kv_indptr": indptr,
              "kv_indices": indices, "sm_scale": 192**-0.5}
    n = len(lengths)
    expected = [torch.empty(n, 16, 512, dtype=torch.bfloat16), torch.empty(n, 16)]
    mod.run(*inputs.values(), *expected)
    plan = mod.plan_chunks(sum(lengths), n, mod._sm_count(qn.device))[0]
    assert ta.plan_chunk("mla", mod, inputs) == plan == 8
    swept = ta.sweep_configurations("mla", ta.SPACES["split"]["mla"], mod, inputs)
    assert len(swept) == 16 and {chunk for _, chunk, _ in swept} == {plan, 2 * plan}
    for values, chunk, config in swept:
        assert values[ta.space_names(ta.SPACES["split"]["mla"]).index("chunk")] == chunk  # recorded in tokens
        outs = [torch.full_like(expected[0], float("nan")), torch.full_like(expected[1], float("nan"))]
        mod.decode(*inputs.values(), *outs, chunk, **config)
        assert ta.outputs_agree(outs, expected), values


def test_mergelast_space_sweeps_the_bound_around_run_s_own():
    from solutions.test_triton_kernels import MLA, _load

    mod = _load(MLA)
    configs = ta.configurations(ta.SPACES["mergelast"]["mla"])
    assert [c["merge_last"] for c in configs] == [2, 3, 4, 6]
    assert {"block_n": 32, "num_warps": 4, "num_stages": mod.NUM_STAGES, "chunk": ta.PlanChunk(1), "merge_heads": 1,
            "merge_last": mod.MERGE_LAST, "merge_block_d": mod.merge_block_d_for(1)} in configs
    assert ta.EVERY_PRODUCTION_BATCH["mergelast"] is None


@pytest.mark.parametrize(("total", "batch"), [(74419, 64), (11551, 64), (20397, 16), (515, 16), (5, 1), (0, 4)])
@pytest.mark.parametrize("per_sm", [1, 2])
def test_fill_chunks_give_at_most_per_sm_programs_an_sm(total, batch, per_sm):
    """A FillChunk is a multiple of 32 tokens and the smallest such chunk whose segment programs
    (num_chunks + batch) fit per_sm x SMs, wherever a chunk can make them fit."""
    sms = 132
    chunk = ta.FillChunk(per_sm).tokens(total, batch, sms)
    assert chunk % 32 == 0 and chunk >= 32
    programs = -(-total // chunk) + batch
    assert programs <= max(per_sm * sms, batch + 1)
    if chunk > 32:  # 32 tokens less would not fit
        assert -(-total // (chunk - 32)) + batch > per_sm * sms


def test_fill_space_sweeps_run_s_plan_beside_both_fills():
    configs = ta.configurations(ta.SPACES["fill"]["mla"])
    assert [c["chunk"] for c in configs][::2] == [ta.PlanChunk(1), ta.FillChunk(2), ta.FillChunk(1)]
    assert {c["merge_last"] for c in configs} == {3, 8} and len(configs) == 6
    assert ta.EVERY_PRODUCTION_BATCH["fill"] == ("b16", "b64") and "fill" in ta.PRODUCTION_SETS


def test_fill_chunk_is_one_chunk_where_the_batch_alone_fills_the_slots():
    assert ta.FillChunk(1).tokens(5000, 132, 132) == 5024  # 157 x 32: every token in one chunk
    assert ta.FillChunk(2).tokens(5000, 300, 132) == 5024
    assert ta.FillChunk(1).tokens(5000, 131, 132) == 5024  # one slot left: one chunk, exactly


def test_sweep_resolves_fill_chunks_in_tokens_from_the_batch_and_the_sm_count(monkeypatch):
    """The fill set as the sweep launches it: FillChunks become token counts from
    len(kv_indices), the batch and the Solution's SM count, recorded in the values."""
    from solutions.test_triton_kernels import MLA, _load

    mod = _load(MLA)
    monkeypatch.setattr(mod, "_sm_count", lambda device: 8)
    inputs = {"kv_indices": torch.zeros(3000, dtype=torch.int32),
              "kv_indptr": torch.tensor([0, 1000, 2000, 3000], dtype=torch.int32)}
    swept = ta.sweep_configurations("mla", ta.SPACES["fill"]["mla"], mod, inputs)
    chunk_at = ta.space_names(ta.SPACES["fill"]["mla"]).index("chunk")
    chunks = {values[chunk_at] for values, _, _ in swept}
    assert {ta.FillChunk(2).tokens(3000, 3, 8), ta.FillChunk(1).tokens(3000, 3, 8)} <= chunks
    assert ta.FillChunk(2).tokens(3000, 3, 8) == 256 and ta.FillChunk(1).tokens(3000, 3, 8) == 608  # 15 and 8 programs
    assert all(values[chunk_at] == chunk for values, chunk, _ in swept)
