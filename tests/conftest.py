"""Shared fixtures, and how pytest-xdist splits the suite (``pytest -n auto``, the README's
test command)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

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


# Tests that share one expensive run (a session- or module-scoped fixture) go to one pytest-xdist
# worker together, so the run happens once: the adversarial suite's planted groups, started in the
# background by its conftest, and test_runner's bad_run. Every other test is its own unit.
SHARED_RUN_SCOPES = ("tests/adversarial/", "tests/engine/test_runner.py")


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``--dist load`` (what ``-n`` means by default), keeping each SHARED_RUN_SCOPES together.

    (``--dist loadgroup`` with ``xdist_group`` marks would say the same, but pytest-xdist 3.8
    renames test ids in a way pytest 9.2 ignores, so the marks have no effect there.)
    """
    if config.getvalue("dist") != "load":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class SharedRunScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return next((p for p in SHARED_RUN_SCOPES if nodeid.startswith(p)), nodeid)

    return SharedRunScheduling(config, log)


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
