"""Bytes a workload makes a kernel move: the x axis of the latency chart and the numerator of the
achieved-bandwidth chart.

Every input and output tensor counts once at its full size, except a paged cache: a tensor whose
leading axis is ``num_pages`` in a definition that also has ``num_kv_indices`` (the FlashInfer-Trace
paged layout) counts only the pages the page table references, ``min(num_pages,
num_kv_indices)`` of them, not the whole pool. Scalars are ignored.
"""

from __future__ import annotations

import math

from kernel_arena.schema import DTYPE_BYTES, Definition

PAGE_AXIS = "num_pages"
REFERENCED_PAGES_AXIS = "num_kv_indices"


def bytes_moved(definition: Definition, axes: dict[str, int]) -> int:
    """Bytes read and written by one call on a workload with these axis values (see the module
    docstring); tensors whose shape names an axis the workload lacks are left out."""
    values = definition.axis_values(axes)
    total = 0
    for spec in list(definition.inputs.values()) + list(definition.outputs.values()):
        if spec.shape is None or any(a not in values for a in spec.shape):
            continue
        n = math.prod(values[a] for a in spec.shape)
        if spec.shape and spec.shape[0] == PAGE_AXIS and REFERENCED_PAGES_AXIS in values:
            pages = values[PAGE_AXIS]
            n = n // pages * min(pages, values[REFERENCED_PAGES_AXIS]) if pages else 0
        total += n * DTYPE_BYTES[spec.dtype]
    return total
