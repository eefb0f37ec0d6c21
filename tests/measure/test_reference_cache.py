"""The reference cache: big outputs stay in memory (never on disk), the disk cache has a size cap."""

from __future__ import annotations

import torch
from helpers import tiny_definition

from kernel_arena.measure import reference
from kernel_arena.measure.reference import ReferenceCache
from kernel_arena.schema import Definition

DEFINITION = Definition.model_validate(tiny_definition())
CPU = torch.device("cpu")


def test_outputs_over_the_entry_limit_are_kept_in_memory_only(tmp_path, monkeypatch):
    monkeypatch.setattr(reference, "DISK_ENTRY_MAX_BYTES", 1000)
    cache = ReferenceCache(tmp_path)
    big = {"out": torch.arange(1000, dtype=torch.float32)}  # 4000 bytes
    cache.put_outputs(DEFINITION, "w", 0, CPU, big)
    assert not list(tmp_path.rglob("*.safetensors"))
    got = cache.get_outputs(DEFINITION, "w", 0, CPU)
    assert got is not None and torch.equal(got["out"], big["out"])
    small = {"out": torch.ones(10)}
    cache.put_outputs(DEFINITION, "w", 1, CPU, small)
    assert len(list(tmp_path.rglob("*.safetensors"))) == 1
    assert ReferenceCache(tmp_path).get_outputs(DEFINITION, "w", 0, CPU) is None  # not shared on disk


def test_memory_cache_evicts_the_least_recently_used(tmp_path, monkeypatch):
    monkeypatch.setattr(reference, "DISK_ENTRY_MAX_BYTES", 100)
    monkeypatch.setattr(reference, "MEMORY_MAX_BYTES", 10_000)
    cache = ReferenceCache(tmp_path)
    for draw in range(4):
        cache.put_outputs(DEFINITION, "w", draw, CPU, {"out": torch.zeros(1000)})  # 4000 bytes each
    assert cache.get_outputs(DEFINITION, "w", 0, CPU) is None
    assert cache.get_outputs(DEFINITION, "w", 3, CPU) is not None


def test_disk_cache_deletes_the_oldest_entries_past_its_cap(tmp_path, monkeypatch):
    monkeypatch.setattr(reference, "DISK_MAX_BYTES", 20_000)
    cache = ReferenceCache(tmp_path)
    for draw in range(8):
        cache.put_outputs(DEFINITION, "w", draw, CPU, {"out": torch.zeros(1000)})  # ~4 KB a file
    files = list(tmp_path.rglob("*.safetensors"))
    assert sum(f.stat().st_size for f in files) <= 20_000 and len(files) < 8
    assert cache.get_outputs(DEFINITION, "w", 7, CPU) is not None  # the newest survive
    assert cache.get_outputs(DEFINITION, "w", 0, CPU) is None  # the oldest went first


def test_a_failed_disk_write_keeps_the_outputs_in_memory_and_says_so(tmp_path):
    """A cache folder that cannot be written (disk full, a file where a folder should be) must not
    abort the run: the entry stays in this process's memory and the failure is reported once."""
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file where the cache folder should be")
    cache = ReferenceCache(blocker / "reference")
    outputs = {"out": torch.arange(10, dtype=torch.float32)}
    cache.put_outputs(DEFINITION, "w", 0, CPU, outputs)
    cache.put_outputs(DEFINITION, "w", 1, CPU, outputs)
    cache.put_timing(DEFINITION, "w", "cpu", "s", {"latency_ms": 1.0})
    got = cache.get_outputs(DEFINITION, "w", 0, CPU)
    assert got is not None and torch.equal(got["out"], outputs["out"])
    assert len(cache.write_errors) == 1, cache.write_errors
    assert "not_a_folder" in cache.write_errors[0]
