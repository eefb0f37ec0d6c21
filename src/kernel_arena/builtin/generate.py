"""Writes the embedded default dataset: seed definitions, CPU and GPU workloads, page-table blobs.

Run ``python -m kernel_arena.builtin.generate`` after changing a reference or a workload list;
``tests/builtin/test_generate.py`` fails when the committed files are stale. Output is
deterministic (fixed seeds, uuid5 names).
"""

from __future__ import annotations

import argparse
import json
import math
import uuid
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
REFERENCES = HERE / "references"
DATASET = HERE / "dataset"
_NS = uuid.UUID("6b1c9a52-3f0e-4c55-9a57-4b8f1f6c2e10")

GQA = "gqa_paged_decode_h32_kv8_d128_ps1"
MLA = "mla_paged_decode_h16_ckv512_kpe64_ps1"
GDN = "gdn_decode_qk4_v8_d128_k_last"


def _reference(name: str) -> str:
    return (REFERENCES / f"{name}.py").read_text(encoding="utf-8")


def _t(shape: list[str] | None, dtype: str, description: str, **extra: Any) -> dict[str, Any]:
    return {"shape": shape, "dtype": dtype, "description": description, **extra}


def definitions() -> list[dict[str, Any]]:
    """The three seed definitions (names, axes, order, shapes and dtypes per the public spec)."""
    page_table_constraints = ["len_indptr == batch_size + 1", "num_kv_indices == kv_indptr[-1].item()"]
    gqa = {
        "name": GQA,
        "baseline": "gqa_paged_decode_flashinfer",
        "description": "Batched GQA decode over a paged KV cache (page size 1), Llama-3.1-8B "
        "shapes: 32 query heads share 8 KV heads in contiguous groups of 4. LSE is base 2.",
        "op_type": "gqa_paged",
        "tags": ["stage:decode", "status:verified", "model:llama-3.1-8b"],
        "axes": {
            "batch_size": {"type": "var", "description": "Number of sequences."},
            "num_qo_heads": {"type": "const", "value": 32, "description": "Query heads."},
            "num_kv_heads": {"type": "const", "value": 8, "description": "KV heads."},
            "head_dim": {"type": "const", "value": 128},
            "num_pages": {"type": "var", "description": "Pages in the KV pool."},
            "page_size": {"type": "const", "value": 1},
            "len_indptr": {"type": "var", "description": "batch_size + 1."},
            "num_kv_indices": {"type": "var", "description": "Total pages used by the batch."},
        },
        "constraints": page_table_constraints,
        "inputs": {
            "q": _t(["batch_size", "num_qo_heads", "head_dim"], "bfloat16", "Query, one token per sequence."),
            "k_cache": _t(
                ["num_pages", "page_size", "num_kv_heads", "head_dim"], "bfloat16", "Paged key cache (NHD)."
            ),
            "v_cache": _t(
                ["num_pages", "page_size", "num_kv_heads", "head_dim"], "bfloat16", "Paged value cache (NHD)."
            ),
            "kv_indptr": _t(
                ["len_indptr"], "int32", "Sequence b owns kv_indices[kv_indptr[b]:kv_indptr[b+1]]."
            ),
            "kv_indices": _t(["num_kv_indices"], "int32", "Page indices into the pool."),
            "sm_scale": _t(None, "float32", "Softmax scale, typically 1/sqrt(head_dim)."),
        },
        "outputs": {
            "output": _t(["batch_size", "num_qo_heads", "head_dim"], "bfloat16", "Attention output."),
            "lse": _t(["batch_size", "num_qo_heads"], "float32", "Base-2 log-sum-exp of the scaled logits."),
        },
        "reference": _reference(GQA),
    }
    mla = {
        "name": MLA,
        "baseline": "mla_paged_decode_flashinfer",
        "description": "Absorbed multi-head latent attention decode over a paged cache (page size "
        "1), DeepSeek-V3/R1 at TP=8: 16 heads share each 512-wide latent row and 64-wide RoPE "
        "row. sm_scale is 1/sqrt(128 + 64) (pre-absorption head dim). LSE is base 2.",
        "op_type": "mla_paged",
        "tags": ["stage:decode", "status:verified", "model:deepseek-v3"],
        "axes": {
            "batch_size": {"type": "var", "description": "Number of sequences."},
            "num_qo_heads": {"type": "const", "value": 16},
            "head_dim_ckv": {"type": "const", "value": 512},
            "head_dim_kpe": {"type": "const", "value": 64},
            "page_size": {"type": "const", "value": 1},
            "num_pages": {"type": "var", "description": "Pages in the KV pool."},
            "len_indptr": {"type": "var", "description": "batch_size + 1."},
            "num_kv_indices": {"type": "var", "description": "Total pages used by the batch."},
        },
        "constraints": page_table_constraints,
        "inputs": {
            "q_nope": _t(
                ["batch_size", "num_qo_heads", "head_dim_ckv"], "bfloat16", "Absorbed query (latent part)."
            ),
            "q_pe": _t(["batch_size", "num_qo_heads", "head_dim_kpe"], "bfloat16", "Query RoPE part."),
            "ckv_cache": _t(
                ["num_pages", "page_size", "head_dim_ckv"], "bfloat16", "Compressed KV (latent) cache."
            ),
            "kpe_cache": _t(["num_pages", "page_size", "head_dim_kpe"], "bfloat16", "Key RoPE cache."),
            "kv_indptr": _t(
                ["len_indptr"], "int32", "Sequence b owns kv_indices[kv_indptr[b]:kv_indptr[b+1]]."
            ),
            "kv_indices": _t(["num_kv_indices"], "int32", "Page indices into the pool."),
            "sm_scale": _t(None, "float32", "Softmax scale, typically 1/sqrt(192)."),
        },
        "outputs": {
            "output": _t(
                ["batch_size", "num_qo_heads", "head_dim_ckv"], "bfloat16", "Attention output (latent space)."
            ),
            "lse": _t(["batch_size", "num_qo_heads"], "float32", "Base-2 log-sum-exp of the scaled logits."),
        },
        "reference": _reference(MLA),
    }
    gdn = {
        "name": GDN,
        "baseline": "gdn_decode_fla",
        "description": "Gated DeltaNet single-token decode with a recurrent state (Qwen3-Next "
        "linear attention at TP=4): 4 q/k heads, 8 value heads (GVA), head size 128, state "
        "stored k-last [B, H, V, K] in fp32.",
        "op_type": "gdn",
        "tags": ["stage:decode", "status:verified", "model:qwen3-next"],
        "axes": {
            "batch_size": {"type": "var", "description": "Number of sequences."},
            "seq_len": {"type": "const", "value": 1},
            "num_q_heads": {"type": "const", "value": 4},
            "num_k_heads": {"type": "const", "value": 4},
            "num_v_heads": {"type": "const", "value": 8},
            "head_size": {"type": "const", "value": 128},
        },
        "constraints": [
            "num_v_heads >= num_q_heads",
            "num_v_heads % num_q_heads == 0",
            "num_k_heads == num_q_heads",
        ],
        "inputs": {
            "q": _t(["batch_size", "seq_len", "num_q_heads", "head_size"], "bfloat16", "Queries."),
            "k": _t(["batch_size", "seq_len", "num_k_heads", "head_size"], "bfloat16", "Keys."),
            "v": _t(["batch_size", "seq_len", "num_v_heads", "head_size"], "bfloat16", "Values."),
            "state": _t(
                ["batch_size", "num_v_heads", "head_size", "head_size"],
                "float32",
                "Recurrent state, k-last [B, H, V, K]; absent means zeros.",
                optional=True,
            ),
            "A_log": _t(["num_v_heads"], "float32", "Log of the decay rate A."),
            "a": _t(["batch_size", "seq_len", "num_v_heads"], "bfloat16", "Decay input."),
            "dt_bias": _t(["num_v_heads"], "float32", "Bias added to a before softplus."),
            "b": _t(
                ["batch_size", "seq_len", "num_v_heads"],
                "bfloat16",
                "Update gate logits (beta = sigmoid(b)).",
            ),
            "scale": _t(None, "float32", "Output scale; 0 means 1/sqrt(head_size)."),
        },
        "outputs": {
            "output": _t(["batch_size", "seq_len", "num_v_heads", "head_size"], "bfloat16", "Output."),
            "new_state": _t(
                ["batch_size", "num_v_heads", "head_size", "head_size"], "float32", "Updated state, k-last."
            ),
        },
        "reference": _reference(GDN),
    }
    return [gqa, mla, gdn]


# ------------------------------------------------------------------------- workloads
# (name, tag, per-sequence lengths, pool pages, page table stored as blob?)
def _attention_cases() -> list[tuple[str, str, list[int], int, bool]]:
    rng = np.random.default_rng(1234)

    def mixed(batch: int, median: int, cap: int) -> list[int]:
        lens = np.clip(rng.lognormal(math.log(median), 0.9, size=batch), 1, cap).astype(int)
        return [int(x) for x in lens]

    cases: list[tuple[str, str, list[int], int, bool]] = [
        ("cpu_b4_edge", "cpu", [0, 1, 7, 33], 96, True),
        ("cpu_b2_random_table", "cpu", [48, 17], 128, False),
        ("cpu_b1_single_token", "cpu", [1], 4, True),
        ("cpu_b3_all_empty_but_one", "cpu", [0, 0, 5], 16, True),
        ("gpu_b1_kv128", "gpu", [128], 4096, True),
        ("gpu_b1_kv4096", "gpu", [4096], 65536, True),
        ("gpu_b1_kv32768", "gpu", [32768], 131072, True),
        ("gpu_b4_kv1024", "gpu", [1024] * 4, 16384, True),
        ("gpu_b8_long_mixed", "gpu", [20000, 9000, 1, 0, 15000, 7000, 3000, 20000], 200000, True),
        ("gpu_b16_mixed", "gpu", mixed(16, 300, 4000), 50000, True),
        ("gpu_b16_short", "gpu", [16] * 16, 1024, True),
        ("gpu_b32_mixed", "gpu", mixed(32, 150, 3000), 40000, True),
        ("gpu_b64_kv2048", "gpu", [2048] * 64, 262144, True),
        ("gpu_b64_mixed_edge", "gpu", [0, 1] + mixed(62, 100, 2000), 30000, True),
        ("gpu_b128_kv512", "gpu", [512] * 128, 100000, True),
        ("gpu_b256_kv512", "gpu", [512] * 256, 200000, True),
        ("gpu_b2_big_pool", "gpu", [3000, 2500], 1_100_000, True),
    ]
    return cases


def _uuid(definition: str, name: str) -> str:
    return str(uuid.uuid5(_NS, f"{definition}/{name}"))


def attention_workloads(definition: str, op_type: str, scale: float, out: Path) -> list[dict[str, Any]]:
    """Workload lines for a paged-attention definition; writes the page-table blobs."""
    rng = np.random.default_rng(7)
    lines = []
    for name, tag, lengths, pool, as_blob in _attention_cases():
        indices = rng.choice(pool, size=int(sum(lengths)), replace=False).astype(np.int32)
        lines.append(attention_workload_line(definition, op_type, name, [tag], lengths, indices, pool, scale,
                                             out if as_blob else None))
    return lines


def attention_workload_line(
    definition: str,
    op_type: str,
    name: str,
    tags: list[str],
    lengths: list[int],
    indices: np.ndarray,
    pool: int,
    scale: float,
    blob_root: Path | None,
) -> dict[str, Any]:
    """One paged-attention workload line: random q and caches over a pool of ``pool`` pages, the
    given page table (sequence b owns ``lengths[b]`` entries of ``indices``). With ``blob_root``
    the page table is written to ``blob_root/blob/workloads/<op_type>/<definition>/<name>.safetensors``
    and referenced from the line; without it the page table is left to the harness to draw."""
    from safetensors.numpy import save_file

    total = int(sum(lengths))
    if len(indices) != total:
        raise ValueError(f"{name}: {len(indices)} page indices for {total} tokens")
    indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    axes = {
        "batch_size": len(lengths),
        "num_pages": pool,
        "len_indptr": len(lengths) + 1,
        "num_kv_indices": total,
    }
    inputs: dict[str, Any] = {tensor: {"type": "random"} for tensor in _attention_inputs(definition)}
    inputs["sm_scale"] = {"type": "scalar", "value": scale}
    if blob_root is not None:
        rel = f"blob/workloads/{op_type}/{definition}/{name}.safetensors"
        (blob_root / rel).parent.mkdir(parents=True, exist_ok=True)
        table = {"kv_indptr": indptr, "kv_indices": np.asarray(indices, dtype=np.int32)}
        save_file(table, str(blob_root / rel))
        inputs["kv_indptr"] = {"type": "safetensors", "path": f"./{rel}", "tensor_key": "kv_indptr"}
        inputs["kv_indices"] = {"type": "safetensors", "path": f"./{rel}", "tensor_key": "kv_indices"}
    uid = _uuid(definition, name)
    return {
        "definition": definition,
        "workload": {"axes": axes, "inputs": inputs, "uuid": uid, "name": name, "tags": list(tags)},
        "solution": None,
        "evaluation": None,
    }


def _attention_inputs(definition: str) -> list[str]:
    if definition == GQA:
        return ["q", "k_cache", "v_cache", "kv_indptr", "kv_indices"]
    return ["q_nope", "q_pe", "ckv_cache", "kpe_cache", "kv_indptr", "kv_indices"]


def gdn_workloads() -> list[dict[str, Any]]:
    """GDN workload lines: all tensors random; some without state, one with scale 0."""
    cases = [
        ("cpu_b1", "cpu", 1, True, 1 / math.sqrt(128)),
        ("cpu_b3", "cpu", 3, True, 1 / math.sqrt(128)),
        ("cpu_b2_no_state_default_scale", "cpu", 2, False, 0.0),
        ("gpu_b1", "gpu", 1, True, 1 / math.sqrt(128)),
        ("gpu_b4", "gpu", 4, True, 1 / math.sqrt(128)),
        ("gpu_b8_no_state", "gpu", 8, False, 1 / math.sqrt(128)),
        ("gpu_b16", "gpu", 16, True, 1 / math.sqrt(128)),
        ("gpu_b64", "gpu", 64, True, 1 / math.sqrt(128)),
        ("gpu_b256", "gpu", 256, True, 0.0),
    ]
    lines = []
    for name, tag, batch, with_state, scale in cases:
        inputs: dict[str, Any] = {
            n: {"type": "random"} for n in ["q", "k", "v", "state", "A_log", "a", "dt_bias", "b"]
        }
        if not with_state:
            del inputs["state"]
        inputs["scale"] = {"type": "scalar", "value": scale}
        lines.append(
            {
                "definition": GDN,
                "workload": {
                    "axes": {"batch_size": batch},
                    "inputs": inputs,
                    "uuid": _uuid(GDN, name),
                    "name": name,
                    "tags": [tag],
                },
                "solution": None,
                "evaluation": None,
            }
        )
    return lines


def write_dataset(out: Path = DATASET) -> None:
    """(Re)write definitions, workloads and blobs under ``out``; solutions are left alone."""
    for sub in ("definitions", "workloads", "blob"):
        target = out / sub
        if target.exists():
            for f in sorted(target.rglob("*"), reverse=True):
                f.unlink() if f.is_file() else f.rmdir()
    defs = definitions()
    for d in defs:
        path = out / "definitions" / d["op_type"] / f"{d['name']}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(d, indent=2) + "\n", encoding="utf-8")
    for d in defs:
        if d["name"] == GDN:
            lines = gdn_workloads()
        else:
            scale = 1 / math.sqrt(128) if d["name"] == GQA else 1 / math.sqrt(192)
            (out / "blob" / "workloads" / d["op_type"] / d["name"]).mkdir(parents=True, exist_ok=True)
            lines = attention_workloads(d["name"], d["op_type"], scale, out)
        path = out / "workloads" / d["op_type"] / f"{d['name']}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=DATASET)
    write_dataset(parser.parse_args().out)


if __name__ == "__main__":
    main()
