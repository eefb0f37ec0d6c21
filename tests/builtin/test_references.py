"""Each embedded reference against an independent slow loop of the math (float64, per element)."""

from __future__ import annotations

import math

import pytest
import torch

from kernel_arena.measure.reference import load_reference


def _page_table(lengths: list[int], pool: int, gen: torch.Generator):
    indptr = torch.tensor([0] + list(torch.tensor(lengths).cumsum(0).tolist()), dtype=torch.int32)
    indices = torch.randperm(pool, generator=gen)[: sum(lengths)].to(torch.int32)
    return indptr, indices


def _loop_attention(q_rows, k_of, v_of, indptr, indices, scale):
    """q_rows[b][h] -> vector; k_of(page, h), v_of(page, h) -> vectors. Returns (out, lse2)."""
    batch, heads = len(q_rows), len(q_rows[0])
    out = torch.zeros(batch, heads, v_of(0, 0).numel(), dtype=torch.float64)
    lse = torch.full((batch, heads), -math.inf, dtype=torch.float64)
    for b in range(batch):
        pages = indices[indptr[b] : indptr[b + 1]].tolist()
        for h in range(heads):
            if not pages:
                continue
            logits = [scale * float(q_rows[b][h] @ k_of(p, h)) for p in pages]
            m = max(logits)
            w = [math.exp(x - m) for x in logits]
            s = sum(w)
            out[b, h] = sum(wi * v_of(p, h) for wi, p in zip(w, pages)) / s
            lse[b, h] = (m + math.log(s)) / math.log(2)
    return out, lse


CASES = [[0, 1, 5, 3], [1], [0, 0], [7, 0, 2]]


@pytest.mark.parametrize("lengths", CASES)
def test_gqa_reference_matches_loop(builtin, lengths):
    d = builtin.definitions["gqa_paged_decode_h32_kv8_d128_ps1"]
    gen = torch.Generator().manual_seed(len(lengths) * 31 + sum(lengths))
    pool = sum(lengths) + 5
    q = torch.randn(len(lengths), 32, 128, generator=gen).bfloat16()
    k = torch.randn(pool, 1, 8, 128, generator=gen).bfloat16()
    v = torch.randn(pool, 1, 8, 128, generator=gen).bfloat16()
    indptr, indices = _page_table(lengths, pool, gen)
    scale = 1 / math.sqrt(128)
    out, lse = load_reference(d)(q, k, v, indptr, indices, scale)
    qd, kd, vd = q.double(), k.double(), v.double()
    exp_out, exp_lse = _loop_attention(
        [[qd[b, h] for h in range(32)] for b in range(len(lengths))],
        lambda p, h: kd[p, 0, h // 4],
        lambda p, h: vd[p, 0, h // 4],
        indptr,
        indices,
        scale,
    )
    assert out.dtype == torch.bfloat16 and lse.dtype == torch.float32
    torch.testing.assert_close(out.double(), exp_out, atol=1e-2, rtol=1e-2)
    torch.testing.assert_close(lse.double(), exp_lse, atol=1e-4, rtol=1e-5)
    empty = torch.tensor(lengths) == 0
    assert bool((out[empty] == 0).all()) and bool(torch.isneginf(lse[empty]).all())


@pytest.mark.parametrize("lengths", CASES)
def test_mla_reference_matches_loop(builtin, lengths):
    d = builtin.definitions["mla_paged_decode_h16_ckv512_kpe64_ps1"]
    gen = torch.Generator().manual_seed(7 + sum(lengths))
    pool = sum(lengths) + 3
    qn = torch.randn(len(lengths), 16, 512, generator=gen).bfloat16()
    qp = torch.randn(len(lengths), 16, 64, generator=gen).bfloat16()
    ckv = torch.randn(pool, 1, 512, generator=gen).bfloat16()
    kpe = torch.randn(pool, 1, 64, generator=gen).bfloat16()
    indptr, indices = _page_table(lengths, pool, gen)
    scale = 1 / math.sqrt(192)
    out, lse = load_reference(d)(qn, qp, ckv, kpe, indptr, indices, scale)
    qcat = torch.cat([qn, qp], dim=-1).double()
    kcat = torch.cat([ckv, kpe], dim=-1).double()
    exp_out, exp_lse = _loop_attention(
        [[qcat[b, h] for h in range(16)] for b in range(len(lengths))],
        lambda p, h: kcat[p, 0],
        lambda p, h: ckv.double()[p, 0],
        indptr,
        indices,
        scale,
    )
    torch.testing.assert_close(out.double(), exp_out, atol=1e-2, rtol=1e-2)
    torch.testing.assert_close(lse.double(), exp_lse, atol=1e-4, rtol=1e-5)


def _loop_gdn(q, k, v, state, A_log, a, dt_bias, b, scale):
    B, _, Hq, K = q.shape
    Hv, V = v.shape[2], v.shape[3]
    out = torch.zeros(B, 1, Hv, V, dtype=torch.float64)
    new = torch.zeros(B, Hv, V, K, dtype=torch.float64)
    for bi in range(B):
        for h in range(Hv):
            qh, kh = q[bi, 0, h // (Hv // Hq)].double(), k[bi, 0, h // (Hv // Hq)].double()
            x = float(a[bi, 0, h]) + float(dt_bias[h])
            softplus = math.log1p(math.exp(x)) if x < 20 else x
            g = math.exp(-math.exp(float(A_log[h])) * softplus)
            beta = 1 / (1 + math.exp(-float(b[bi, 0, h])))
            S = (
                state[bi, h].double().T.clone()
                if state is not None
                else torch.zeros(K, V, dtype=torch.float64)
            )
            S = g * S
            u = kh @ S
            vnew = beta * v[bi, 0, h].double() + (1 - beta) * u
            S = S - torch.outer(kh, u) + torch.outer(kh, vnew)
            out[bi, 0, h] = scale * (qh @ S)
            new[bi, h] = S.T
    return out, new


@pytest.mark.parametrize(
    ("batch", "with_state", "scale"), [(1, True, 0.088), (3, True, 0.0), (2, False, 0.088)]
)
def test_gdn_reference_matches_loop(builtin, batch, with_state, scale):
    d = builtin.definitions["gdn_decode_qk4_v8_d128_k_last"]
    gen = torch.Generator().manual_seed(batch)
    q = torch.randn(batch, 1, 4, 128, generator=gen).bfloat16()
    k = (torch.randn(batch, 1, 4, 128, generator=gen) * 0.1).bfloat16()
    v = torch.randn(batch, 1, 8, 128, generator=gen).bfloat16()
    state = torch.randn(batch, 8, 128, 128, generator=gen) if with_state else None
    A_log, dt_bias = torch.randn(8, generator=gen), torch.randn(8, generator=gen)
    a = torch.randn(batch, 1, 8, generator=gen).bfloat16()
    b = torch.randn(batch, 1, 8, generator=gen).bfloat16()
    out, new_state = load_reference(d)(q, k, v, state, A_log, a, dt_bias, b, scale)
    eff_scale = scale if scale else 1 / math.sqrt(128)
    exp_out, exp_state = _loop_gdn(q, k, v, state, A_log, a, dt_bias, b, eff_scale)
    torch.testing.assert_close(new_state.double(), exp_state, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(out.double(), exp_out, atol=2e-2, rtol=1e-2)
