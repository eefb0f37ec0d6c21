"""The authoring-folder format: folder <-> inline Solution, byte-exact, never leaving the folder."""

from __future__ import annotations

import json

import pytest
from helpers import solution_json

from kernel_arena.dataset.solution_folder import SolutionFolderError, pack_solution, unpack_solution
from kernel_arena.schema import Solution


def test_pack_round_trip_is_byte_identical(tmp_path):
    sol = solution_json("rt", "def run(x, y, alpha, out):\r\n    out.copy_(alpha * x + y)  # crlf é\r\n")
    s = Solution.model_validate(sol)
    unpack_solution(s, tmp_path / "f")
    assert (tmp_path / "f" / "main.py").read_bytes() == sol["sources"][0]["content"].encode()
    assert pack_solution(tmp_path / "f").sources[0].content == sol["sources"][0]["content"]


def test_symlink_escaping_the_folder_is_refused(tmp_path):
    (tmp_path / "secret.py").write_text("x = 1\n")
    folder = tmp_path / "f"
    folder.mkdir()
    (folder / "main.py").symlink_to(tmp_path / "secret.py")
    (folder / "solution.json").write_text(
        json.dumps({**solution_json("s", ""), "sources": [{"path": "main.py"}]})
    )
    with pytest.raises(SolutionFolderError, match="outside the solution folder"):
        pack_solution(folder)
