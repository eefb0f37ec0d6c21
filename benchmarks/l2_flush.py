"""How large must the L2 flush between timed calls be? Measured, not assumed.

    python benchmarks/l2_flush.py --results benchmarks/results/l2_flush.md

For working sets that fit in the L2 (where a missing flush shows most), time a read kernel with
flush buffers of 0, 1/2, 1, 2 and 4 times the L2 and the former fixed 256 MiB, each read and
written (``bitwise_not_``, the default) or written only (``fill_``), all
through ``kernel_arena.measure.timing.time_call`` (CUPTI kernel time). The flush is big enough
when the kernel time stops changing; the cost per flush is its own CUPTI kernel time.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import command_line, environment_line, md_table, write_results  # noqa: E402

from kernel_arena.measure.timing import TimingSettings, make_flush, time_call  # noqa: E402

MiB = 1024 * 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--results", default="benchmarks/results/l2_flush.md")
    args = ap.parse_args()
    dev = torch.device("cuda:0")
    l2 = torch.cuda.get_device_properties(dev).L2_cache_size
    settings = TimingSettings(5, 30, 3)
    sizes = [("none", 0), ("L2/2", l2 // 2), ("1x L2", l2), ("2x L2", 2 * l2), ("4x L2", 4 * l2)]
    sizes.append(("256 MiB", 256 * MiB))
    working_sets = [8 * MiB, 24 * MiB, 40 * MiB]
    rows = []
    for (label, nbytes), mode in itertools.product(sizes, ("bitwise_not", "fill")):
        if not nbytes and mode != "bitwise_not":
            continue
        flush = make_flush(dev, nbytes, mode) if nbytes else (lambda: None)
        cells = [label, f"{nbytes / MiB:.0f}", mode if nbytes else "-"]
        for ws in working_sets:
            x = torch.randn(ws // 4, device=dev)
            out = torch.empty(1, device=dev)
            t = time_call(lambda x=x, out=out: torch.sum(x, dim=0, out=out), dev, settings, flush=flush)
            cells.append(f"{t.latency_ms * 1e3:.1f}")
        if nbytes:
            buf = torch.empty(1, device=dev)
            ft = time_call(flush, dev, settings, flush=lambda buf=buf: buf.zero_())
            cells.append(f"{ft.latency_ms * 1e3:.1f}")
        else:
            cells.append("-")
        rows.append(cells)
    header = ["flush", "MiB", "op"] + [f"sum of {ws // MiB} MiB µs" for ws in working_sets] + ["flush µs"]
    text = "\n".join(
        [
            "# L2 flush size",
            "",
            f"Command: `{command_line()}`",
            "",
            f"Environment: {environment_line()}; L2 {l2 / MiB:.0f} MiB",
            "",
            "Kernel time (CUPTI, median of 3 x 30 calls) of `torch.sum` over a working set that fits "
            "in the L2, with an L2 flush before every call: `fill_` (write only) or `bitwise_not_` "
            "(read and write) over the buffer. The flush is large enough once the time no longer "
            "grows with it.",
            "",
            md_table(header, rows),
            "",
        ]
    )
    write_results(args.results, text)


if __name__ == "__main__":
    main()
