"""The committed embedded dataset is what the generator writes (no stale references)."""

from __future__ import annotations

import filecmp

from kernel_arena.builtin.generate import DATASET, write_dataset


def test_embedded_dataset_is_current(tmp_path):
    write_dataset(tmp_path)
    for sub in ("definitions", "workloads", "blob"):
        generated = sorted(p.relative_to(tmp_path) for p in (tmp_path / sub).rglob("*") if p.is_file())
        committed = sorted(p.relative_to(DATASET) for p in (DATASET / sub).rglob("*") if p.is_file())
        assert generated == committed, f"{sub}: run python -m kernel_arena.builtin.generate"
        for rel in generated:
            assert filecmp.cmp(tmp_path / rel, DATASET / rel, shallow=False), (
                f"{rel} is stale: run python -m kernel_arena.builtin.generate"
            )
