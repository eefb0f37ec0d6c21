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
# The CLI sizes its tables by COLUMNS when set (else 200 columns off a terminal). A pytest-xdist
# worker's environment has COLUMNS=80, which wraps `show`'s table cells; tests that check a width
# set COLUMNS themselves.
os.environ.pop("COLUMNS", None)
os.environ.pop("LINES", None)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    import torch

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Under ``-n`` (``--dist load``): one work unit per test module, so a module-scoped run
    happens once, and one for the whole adversarial suite, whose conftest starts its planted
    groups in the background for every module of the folder (``--dist loadscope`` would split
    the folder; ``loadgroup``'s ``xdist_group`` marks have no effect under pytest 9.2 with
    pytest-xdist 3.8, which renames test ids in a way pytest no longer reads)."""
    if config.getvalue("dist") != "load":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ModuleScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return "tests/adversarial/" if module.startswith("tests/adversarial/") else module

    return ModuleScheduling(config, log)


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
