"""A Solution's traceback in its trace log names the Solution's own files, not the sandbox's
private build copy, and carries no harness frames; P16 is hinted for import errors only."""

from __future__ import annotations

import pytest
from helpers import make_tiny_dataset, solution_json

import kernel_arena
from kernel_arena.engine.config import RunConfig
from kernel_arena.measure.timing import TimingSettings

RAISES_IN_SIBLING = solution_json(
    "raises_in_sibling",
    "from kernel import helper\n\ndef run(x, y, alpha, out):\n    helper(x)\n",
    extra_sources={"kernel.py": "def helper(x):\n    raise ValueError('boom in the helper')\n"},
)
SYNTAX_ERROR = solution_json("syntax_error", "def run(x, y, alpha, out):\n    out.copy_(x +)\n")
IMPORT_ERROR = solution_json("import_error", "from kernal import f\n\ndef run(x, y, alpha, out):\n    pass\n")
EXITS = solution_json("exits", "import sys\n\ndef run(x, y, alpha, out):\n    sys.exit(3)\n")
HARNESS = ("ka-build-", "ka_solution_", "kernel_arena/engine", "importlib", "<frozen")


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tracebacks")
    root = make_tiny_dataset(tmp / "ds", [RAISES_IN_SIBLING, SYNTAX_ERROR, IMPORT_ERROR, EXITS])
    config = RunConfig(draws=1, timing=TimingSettings(0, 1, 1))
    result = kernel_arena.run(dataset=root, out=tmp / "out", config=config, device="cpu")
    return {t.solution: t for t in result.traces}


def test_runtime_errors_name_the_solution_files(logs):
    log = logs["raises_in_sibling"].evaluation.log
    assert 'File "main.py", line 4, in run' in log
    assert 'File "kernel.py", line 2, in helper' in log
    assert "ValueError: boom in the helper" in log
    for harness in HARNESS:
        assert harness not in log, log
    from kernel_arena.report.summary import failure_reason

    assert failure_reason(logs["raises_in_sibling"]) == "ValueError: boom in the helper (kernel.py:2)"


def test_a_syntax_error_names_the_file_and_gets_no_import_hint(logs):
    log = logs["syntax_error"].evaluation.log
    assert 'File "main.py", line 2' in log and "SyntaxError" in log
    assert "P16" not in log
    for harness in HARNESS:
        assert harness not in log, log
    from kernel_arena.report.summary import failure_reason

    assert failure_reason(logs["syntax_error"]).startswith("SyntaxError: ")
    assert failure_reason(logs["syntax_error"]).endswith("(main.py:2)")


def test_an_import_error_gets_the_sibling_import_hint(logs):
    log = logs["import_error"].evaluation.log
    assert "ModuleNotFoundError: No module named 'kernal'" in log and "P16" in log
    assert 'File "main.py", line 1' in log


def test_sys_exit_is_shown_with_its_code(logs):
    from kernel_arena.report.summary import failure_reason

    assert failure_reason(logs["exits"]) == "SystemExit: 3 (main.py:4)"
