"""Building solutions: sibling imports, dependencies, isolation between builds in one process."""

from __future__ import annotations

import pytest
from helpers import solution_json

from kernel_arena.engine.sandbox.build import BuildError, build_solution, parse_dependency
from kernel_arena.schema import Solution


def _sol(name, code, **kw):
    return Solution.model_validate(solution_json(name, code, **kw))


def test_two_solutions_with_same_sibling_module_name_build_in_one_process(tmp_path):
    # Regression: the second build used to import the first one's cached `kernel` module.
    a = _sol(
        "a",
        "from kernel import f\n\ndef run(x, y, alpha, out):\n    out.copy_(f(x))\n",
        extra_sources={"kernel.py": "def f(x):\n    return x + 1\n"},
    )
    b = _sol(
        "b",
        "from kernel import g\n\ndef run(x, y, alpha, out):\n    out.copy_(g(x))\n",
        extra_sources={"kernel.py": "def g(x):\n    return x + 2\n"},
    )
    fa = build_solution(a, tmp_path).fn
    fb = build_solution(b, tmp_path).fn
    import torch

    x = torch.zeros(2)
    out = torch.empty(2)
    fa(x, x, 1.0, out)
    assert out.tolist() == [1.0, 1.0]
    fb(x, x, 1.0, out)
    assert out.tolist() == [2.0, 2.0]


def test_relative_imports_in_packages_work(tmp_path):
    s = Solution.model_validate(
        {
            "name": "pkg",
            "definition": "d",
            "author": "t",
            "spec": {"language": "python", "target_hardware": ["cpu"], "entry_point": "impl/main.py::run"},
            "sources": [
                {"path": "impl/main.py", "content": "from .helpers import h\n\ndef run():\n    return h()\n"},
                {"path": "impl/helpers.py", "content": "def h():\n    return 42\n"},
            ],
        }
    )
    assert build_solution(s, tmp_path).fn() == 42


def test_missing_entry_function_and_import_error_are_build_errors(tmp_path):
    with pytest.raises(BuildError, match="defines no function 'run'"):
        build_solution(_sol("x", "def other():\n    pass\n"), tmp_path)
    with pytest.raises(BuildError, match="P16"):
        build_solution(_sol("y", "import not_a_sibling_module\n"), tmp_path)


def test_parse_dependency():
    assert parse_dependency("flashinfer-python>=0.6") == ("flashinfer-python", "flashinfer", ">=0.6")
    assert parse_dependency("fla-core") == ("fla-core", "fla", "")
    assert parse_dependency("torch") == ("torch", "torch", "")


def test_dependency_version_mismatch_is_reported(tmp_path):
    with pytest.raises(BuildError, match="needs >=999"):
        build_solution(_sol("v", "def run():\n    pass\n", deps=["torch>=999"]), tmp_path)
