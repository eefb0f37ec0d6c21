"""Materialize a Workload's inputs on a device, deterministically per (workload, draw).

``random`` floats are standard normal, other integers small non-negative, booleans fair coins.
A random input larger than ``LARGE_RANDOM_BYTES`` (a KV pool, a recurrent state) is drawn once
per workload, in chunks with their own seeds (filled on every CPU core), and the other draws
take it rolled by a per-draw offset: every draw still sees other values at each position, for
a copy instead of a new draw (which costs about ten times more on a CPU). Values follow
``INPUTS_SCHEME``; caches of values (reference outputs) are keyed by it.
An indptr/indices pair (a page table) marked ``random`` — or whose blob is missing when
``synthesize_missing`` is on — is synthesized valid: monotone indptr starting at 0, distinct
in-range page indices. Safetensors blobs load lazily and are cached per file. The definition's
constraints are checked on the result, so a bad workload fails with a message, not garbage.
"""

from __future__ import annotations

import hashlib
import math
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import torch

from kernel_arena.measure.dtypes import dtype_name, torch_dtype
from kernel_arena.schema import (
    FLOAT_DTYPES,
    Definition,
    RandomInput,
    SafetensorsInput,
    ScalarInput,
    TensorSpec,
    Workload,
)

INPUTS_SCHEME = 2
"""Version of the rules that turn (workload, draw) into values; part of every value cache key."""
LARGE_RANDOM_BYTES = 64 << 20
"""Random inputs above this size are drawn once per workload and rolled for the other draws."""
CHUNK_ELEMENTS = 1 << 24
"""Elements per independently seeded chunk of a large random input."""


class InputError(Exception):
    """A workload whose inputs cannot be produced; the message names file and input."""


def seed_for(uuid: str, draw: int, name: str) -> int:
    """Deterministic 63-bit seed for one input of one draw of one workload."""
    digest = hashlib.sha256(f"{uuid}:{draw}:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


class BlobCache:
    """Safetensors files opened lazily; each tensor read once per process (on CPU)."""

    def __init__(self) -> None:
        self._tensors: dict[tuple[str, str], torch.Tensor] = {}

    def load(self, path: Path, key: str) -> torch.Tensor:
        """The tensor ``key`` of file ``path`` (InputError naming the file when impossible)."""
        cache_key = (str(path), key)
        if cache_key not in self._tensors:
            from safetensors import SafetensorError, safe_open

            if not path.is_file():
                raise InputError(f"blob file {path} does not exist")
            try:
                with safe_open(str(path), framework="pt") as handle:
                    if key not in handle.keys():  # noqa: SIM118 - safe_open has no __contains__
                        raise InputError(
                            f"blob file {path} has no tensor {key!r} (has {sorted(handle.keys())})"
                        )
                    self._tensors[cache_key] = handle.get_tensor(key)
            except (SafetensorError, OSError, RuntimeError, ValueError) as exc:
                raise InputError(f"blob file {path} cannot be read: {exc}") from None
        return self._tensors[cache_key]


def _pool_size(definition: Definition, axes: dict[str, int], count: int) -> int:
    # The pool is the leading axis of the largest paged tensor; "num_pages" by convention.
    if "num_pages" in axes:
        return int(axes["num_pages"])
    return count


def synthesize_page_table(batch: int, total: int, pool: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A valid page table: ``total`` distinct pages of ``pool`` split over ``batch`` sequences."""
    if total > pool:
        raise InputError(f"cannot place {total} distinct pages in a pool of {pool}")
    gen = torch.Generator().manual_seed(seed)
    if batch > 0 and total > 0:
        cuts = torch.sort(torch.randint(0, total + 1, (batch - 1,), generator=gen)).values
        indptr = torch.cat([torch.zeros(1, dtype=torch.int64), cuts, torch.tensor([total])])
    else:
        indptr = torch.zeros(batch + 1, dtype=torch.int64)
    indices = torch.randperm(pool, generator=gen)[:total]
    return indptr.to(torch.int32), indices.to(torch.int32)


def _random_tensor(spec: TensorSpec, shape: tuple[int, ...], device: torch.device, seed: int) -> torch.Tensor:
    dtype = torch_dtype(spec.dtype)
    if spec.dtype == "float4_e2m1":
        raise InputError("random float4_e2m1 inputs are not supported; use a blob")
    numel = math.prod(shape)
    if numel * dtype.itemsize <= LARGE_RANDOM_BYTES:
        return _draw(spec.dtype, dtype, shape, device, torch.Generator(device=device).manual_seed(seed))
    out = torch.empty(shape, dtype=dtype, device=device)
    chunks = out.view(-1).split(CHUNK_ELEMENTS)

    def fill(i: int) -> None:
        gen = torch.Generator(device=device).manual_seed(seed_for(str(seed), i, "chunk"))
        chunks[i].copy_(_draw(spec.dtype, dtype, (chunks[i].numel(),), device, gen))

    if device.type == "cpu":  # one generator per chunk: the chunks fill in parallel
        with ThreadPoolExecutor(max(1, min(len(chunks), torch.get_num_threads()))) as pool:
            list(pool.map(fill, range(len(chunks))))
    else:
        for i in range(len(chunks)):
            fill(i)
    return out


def _draw(
    name: str, dtype: torch.dtype, shape: tuple[int, ...], device: torch.device, gen: torch.Generator
) -> torch.Tensor:
    if name in FLOAT_DTYPES:
        if name in ("float32", "float16", "bfloat16"):
            return torch.randn(shape, dtype=dtype, device=device, generator=gen)
        return torch.randn(shape, dtype=torch.float32, device=device, generator=gen).to(dtype)
    if name == "bool":
        return torch.randint(0, 2, shape, device=device, generator=gen).bool()
    return torch.randint(0, 16, shape, dtype=dtype, device=device, generator=gen)


def _large_draw(
    spec: TensorSpec,
    shape: tuple[int, ...],
    device: torch.device,
    workload: Workload,
    name: str,
    draw: int,
    shared: dict[str, torch.Tensor] | None,
) -> torch.Tensor:
    """A large random input: draw 0's values (made once per ``shared`` memo), rolled for other
    draws by an offset derived from the draw (never 0)."""
    first = shared.get(name) if shared is not None else None
    if first is None:
        first = _random_tensor(spec, shape, device, seed_for(workload.uuid, 0, name))
        if shared is not None:
            shared[name] = first
    if draw == 0:
        return first
    shift = 1 + seed_for(workload.uuid, draw, name) % max(first.numel() - 1, 1)
    return torch.roll(first.reshape(-1), shift).view(first.shape)


def random_input(
    definition: Definition,
    workload: Workload,
    name: str,
    draw: int,
    device: torch.device | str,
    count: int | None = None,
) -> torch.Tensor:
    """One ``random`` tensor input of ``draw``; with ``count``, that many fresh values of it stacked
    along a new leading axis (the timing variants, drawn with secret draw numbers)."""
    spec = definition.inputs[name]
    shape = definition.shape_of(spec, definition.axis_values(workload.axes))
    assert shape is not None
    if count is not None:
        shape = (count, *shape)
    return _random_tensor(spec, tuple(shape), torch.device(device), seed_for(workload.uuid, draw, name))


def page_table_inputs(definition: Definition) -> set[str]:
    """Names of the indptr/indices inputs that describe a page table (structure, not values)."""
    return {name for pair in definition.page_tables() for name in pair}


def materialize_inputs(
    definition: Definition,
    workload: Workload,
    device: torch.device | str,
    draw: int,
    dataset_root: Path,
    blobs: BlobCache | None = None,
    synthesize_missing: bool = False,
    shared: dict[str, torch.Tensor] | None = None,
) -> dict[str, Any]:
    """Inputs by name, in definition order; ``None`` for an omitted optional input.

    ``shared``: a memo of the large random inputs' first draw, kept by the caller across the draws
    of one workload (the values are the same with or without it; only the cost differs). The
    tensors it returns for draw 0 are the memo's own: callers must not modify inputs in place.
    """
    device = torch.device(device)
    blobs = blobs or BlobCache()
    axes = definition.axis_values(workload.axes)
    values: dict[str, Any] = {}
    synthesized: set[str] = set()

    for indptr_name, indices_name in definition.page_tables():
        specs = [workload.inputs.get(indptr_name), workload.inputs.get(indices_name)]
        wants = [isinstance(s, RandomInput) for s in specs]
        missing = [
            isinstance(s, SafetensorsInput) and not _blob_file(dataset_root, s).is_file() for s in specs
        ]
        if all(w or (m and synthesize_missing) for w, m in zip(wants, missing)):
            batch = int(axes.get("batch_size", max(int(axes.get(_axis(definition, indptr_name), 1)) - 1, 0)))
            total = int(axes[_axis(definition, indices_name)])
            pool = _pool_size(definition, axes, total)
            indptr, indices = synthesize_page_table(
                batch, total, pool, seed_for(workload.uuid, 0, indptr_name)
            )
            values[indptr_name] = indptr.to(device)
            values[indices_name] = indices.to(device)
            synthesized |= {indptr_name, indices_name}

    for name, spec in definition.inputs.items():
        if name in synthesized:
            continue
        source = workload.inputs.get(name)
        if source is None:
            if spec.optional:
                values[name] = None
                continue
            raise InputError(f"workload {workload.uuid}: no spec for input {name!r}")
        if isinstance(source, ScalarInput):
            values[name] = source.value
            continue
        shape = definition.shape_of(spec, axes)
        if shape is None:
            raise InputError(f"workload {workload.uuid}: scalar input {name!r} needs a value")
        if isinstance(source, RandomInput):
            if math.prod(shape) * torch_dtype(spec.dtype).itemsize > LARGE_RANDOM_BYTES:
                values[name] = _large_draw(spec, tuple(shape), device, workload, name, draw, shared)
            else:
                values[name] = _random_tensor(spec, tuple(shape), device, seed_for(workload.uuid, draw, name))
            continue
        path = _blob_file(dataset_root, source)
        if not path.is_file() and _synthesizable(definition, workload, dataset_root, name):
            raise InputError(
                f"blob file {path} does not exist; it holds page table input {name!r}, which "
                "--synthesize-missing can synthesize (a valid page table) instead"
            )
        tensor = blobs.load(path, source.tensor_key)
        expected = torch_dtype(spec.dtype)
        if tensor.dtype != expected:
            raise InputError(
                f"blob {source.path} [{source.tensor_key}] for input {name!r}: dtype "
                f"{dtype_name(tensor.dtype)}, definition says {spec.dtype}"
            )
        if tuple(tensor.shape) != shape:
            raise InputError(
                f"blob {source.path} [{source.tensor_key}] for input {name!r}: shape "
                f"{list(tensor.shape)}, workload axes give {list(shape)}"
            )
        values[name] = tensor.to(device)

    check_constraints(definition, axes, values, workload.uuid)
    return {name: values[name] for name in definition.inputs}


def _synthesizable(definition: Definition, workload: Workload, dataset_root: Path, name: str) -> bool:
    """Is ``name`` half of a page table that ``synthesize_missing`` would synthesize?"""
    for pair in definition.page_tables():
        if name in pair:
            specs = [workload.inputs.get(n) for n in pair]
            return all(
                isinstance(s, RandomInput)
                or (isinstance(s, SafetensorsInput) and not _blob_file(dataset_root, s).is_file())
                for s in specs
            )
    return False


def _axis(definition: Definition, tensor: str) -> str:
    shape = definition.inputs[tensor].shape
    assert shape is not None
    return shape[0]


def _blob_file(root: Path, spec: SafetensorsInput) -> Path:
    return Path(root) / spec.relative_path


def check_constraints(
    definition: Definition, axes: dict[str, int], values: dict[str, Any], uuid: str
) -> None:
    """Evaluate the definition's constraints; InputError naming the first violated one."""
    scope: dict[str, Any] = {"math": math, "torch": torch}
    scope.update(axes)
    scope.update({k: v for k, v in values.items() if v is not None})
    for expr in definition.constraints or []:
        try:
            ok = bool(
                eval(
                    expr,
                    {
                        "__builtins__": {
                            "len": len,
                            "int": int,
                            "min": min,
                            "max": max,
                            "abs": abs,
                            "sum": sum,
                        }
                    },
                    scope,
                )
            )
        except Exception as exc:  # noqa: BLE001 - any failure of a user expression is reported
            raise InputError(f"workload {uuid}: constraint {expr!r} failed to evaluate: {exc}") from None
        if not ok:
            raise InputError(f"workload {uuid}: constraint {expr!r} does not hold")


def clone_inputs(inputs: dict[str, Any]) -> dict[str, Any]:
    """Deep copy of the tensor inputs (scalars and None as they are)."""
    return {k: (v.clone() if isinstance(v, torch.Tensor) else v) for k, v in inputs.items()}
