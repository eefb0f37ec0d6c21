"""Shared fixtures."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("TRITON_INTERPRET", "1")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    import torch

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def builtin():
    from kernel_arena.dataset import load_dataset

    return load_dataset()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say so when the browser tests were skipped for want of a Chromium, and how to get one."""
    reasons = {
        str(report.longrepr[2]).removeprefix("Skipped: ")
        for report in terminalreporter.stats.get("skipped", [])
        if isinstance(report.longrepr, tuple) and "Chromium" in str(report.longrepr[2])
    }
    for reason in sorted(reasons):
        terminalreporter.write_line(
            f"browser tests skipped: {reason}. Install it (Debian/Ubuntu: sudo apt-get install "
            "chromium) or set KERNEL_ARENA_CHROMIUM to a Chromium binary.",
            yellow=True,
        )
