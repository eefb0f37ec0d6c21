"""benchmarks/mla_timeline.py: a probe buffer read back as a timeline (a planted one here; the real
ones come from the GPU kernel)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
import mla_timeline as mt  # noqa: E402


def _program(gt0: int, gt1: int, loop_ns: int, role: int, ghz: float = 2.0) -> list[int]:
    """A probe row: ns timer at start and end, cycles at start, after the loop (or wait), at end."""
    c0 = 1_000_000
    return [gt0, gt1, c0, c0 + int(loop_ns * ghz), c0 + int((gt1 - gt0) * ghz), 7, role, 0]


def test_summary_times_each_phase_from_the_first_start():
    # Three segment programs (two with work, one with none) and two merge programs (one working).
    p = np.array([
        _program(10_000, 20_000, 6_000, 2),   # partial: 6 us loop, 4 us after it
        _program(11_000, 25_000, 8_000, 3),   # the last arrival: 8 us loop, 6 us store + merge
        _program(10_500, 11_000, 0, 0),       # no segment
        _program(12_000, 29_000, 14_000, 4),  # merge: waits 14 us, works 3 us
        _program(12_500, 15_000, 0, 0),       # idle merge program
    ], dtype=np.int64)
    s = mt.summarize(p, segments=3)
    assert abs(s["sm_ghz"] - 2.0) < 1e-9
    assert s["span_us"] == 19.0
    assert (s["segments_live"], s["segments_idle"]) == (2, 1)
    assert s["last_segment_start_us"] == 1.0
    assert (s["loop_median_us"], s["loop_max_us"]) == (7.0, 8.0)
    assert s["tail_median_us"] == 4.0 and s["tail_merged_median_us"] == 6.0 and s["merged_by_last_arrival"] == 1
    assert s["last_segment_end_us"] == 15.0
    assert (s["merge_programs"], s["merge_idle"]) == (1, 1)
    assert (s["merge_wait_median_us"], s["merge_work_median_us"]) == (14.0, 3.0)
    assert s["last_merge_end_us"] == 19.0 and s["last_idle_merge_end_us"] == 5.0
    assert s["critical"]["role"] == "merge" and s["critical"]["wait_us"] == 14.0


def test_report_names_the_timer_and_the_columns():
    row = {"case": "prod_b64_00", "tokens": 100, "chunk": 32, "kernel_us": 9.0, "span_us": 8.0,
           "segments_live": 4, "segments_idle": 1, "last_segment_start_us": 0.5, "loop_median_us": 3.0,
           "loop_max_us": 4.0, "tail_median_us": 1.0, "tail_merged_median_us": 2.0, "merged_by_last_arrival": 1,
           "last_segment_end_us": 7.0, "merge_programs": 0, "merge_idle": 64, "merge_wait_median_us": 0.0,
           "merge_work_median_us": 0.0, "last_merge_end_us": 0.0, "last_idle_merge_end_us": 6.0,
           "critical_role": "partial+merged"}
    text = mt.report([row], calls=20, wall=1.0)
    assert "CUPTI" in text and "L2 flush" in text and "median over 20 calls" in text
    assert "| prod_b64_00 | 100 | 32 | 9.0 | 8.0 | 4 / 1 |" in text
    assert "merge programs serve every split sequence" in text  # no bound recorded: no last arrival named
    text = mt.report([dict(row, merge_last=3)], calls=20, wall=1.0)  # the bound run() took, as measure() records it
    assert "the merge of its 2-3 partials" in text and "more than 3 slots" in text


def test_each_op_is_probed_with_run_s_own_plan():
    """The timeline launches decode with the plan run() would take for the same inputs."""
    import torch
    from solutions.test_triton_kernels import GQA, MLA, _load

    indptr = torch.tensor([0, 300, 310, 900], dtype=torch.int32)
    indices = torch.arange(900, dtype=torch.int32)
    gqa = _load(GQA)
    inputs = {"q": torch.zeros(3, 32, 128), "k_cache": torch.zeros(900, 1, 8, 128),
              "v_cache": torch.zeros(900, 1, 8, 128), "kv_indptr": indptr, "kv_indices": indices, "sm_scale": 0.1}
    plan, kw, chunk = mt.run_plan("gqa", gqa, inputs)
    assert plan == tuple(gqa.plan_call(900, 3, 8, gqa._sm_count(torch.device("cpu")))) and not kw
    assert chunk == plan[0]
    mla = _load(MLA)
    inputs = {"q_nope": torch.zeros(3, 16, 512), "q_pe": torch.zeros(3, 16, 64), "ckv_cache": torch.zeros(900, 1, 512),
              "kpe_cache": torch.zeros(900, 1, 64), "kv_indptr": indptr, "kv_indices": indices, "sm_scale": 0.1}
    plan, kw, chunk = mt.run_plan("mla", mla, inputs)
    assert plan == (mla.plan_chunks(900, 3, mla._sm_count(torch.device("cpu")))[0],) == (chunk,)
    assert kw == {"num_stages": mla.NUM_STAGES, "merge_heads": mla.merge_heads_for(900, 3, 16),
                  "merge_last": mla.MERGE_LAST}
    assert "# GQA decode" in mt.report([], calls=3, wall=0.0, op="gqa") and "no merge programs" in mt.report(
        [], calls=3, wall=0.0, op="gqa")


def test_segment_tokens_follow_the_kernels_slots():
    # Sequences of 5, 0 and 7 tokens, chunk 4: tokens [0, 5) take chunks 0-1 (slots 0, 1), the
    # empty sequence none, tokens [5, 12) chunks 1-2 (slots 1 + 2 = 3, 4); slot 2 has no segment.
    tokens = mt.segment_tokens(np.array([0, 5, 5, 12]), chunk=4, slots=3 + 3)
    assert tokens == [4, 1, 0, 3, 4, 0]
    assert sum(tokens) == 12


def test_program_rows_give_role_sm_times_and_tokens():
    p = np.array([_program(10_000, 20_000, 6_000, 2), _program(12_000, 15_000, 0, 0)], dtype=np.int64)
    rows = mt.program_rows(p, [96])
    assert rows[0] == [0, "partial", 7, 0.0, 6.0, 10.0, 96]
    assert rows[1][:4] == [1, "none", 7, 2.0] and rows[1][6] is None


def test_programs_report_fits_loop_time_over_tiles_per_sm_sharing():
    # Six programs alone on SMs 0-5 (loop = 4 + 2 x tiles), two sharing SM 9.
    rows = [[k, "partial", k, 0.0, 4.0 + 2.0 * t, 5.0 + 2.0 * t, 32 * t] for k, t in enumerate([1, 2, 3, 4, 5, 6])]
    rows += [[6, "partial", 9, 0.0, 9.0, 10.0, 32], [7, "partial", 9, 0.0, 13.0, 14.0, 64]]
    rows += [[8, "merge", 3, 1.0, 15.0, 16.5, None]]
    text = mt.programs_report({"prod_b64_x": {"chunk": 256, "sm_count": 8, "programs": rows}})
    assert "| prod_b64_x | 256 | 8 | 1 | 6.0 | 4.0 + 2.00 | - | 6 / 16.0 | 192 / 96 | 17.0 | 17.0 |" in text
