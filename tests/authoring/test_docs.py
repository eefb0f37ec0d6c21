"""The playbook: generated pages are current, and every command it shows runs."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from kernel_arena.authoring.docs import render_all

DOCS = Path(__file__).resolve().parents[2] / "docs" / "authoring"


def test_generated_pages_are_current():
    for rel, text in render_all().items():
        path = DOCS / rel
        assert path.is_file() and path.read_text() == text, (
            f"{path} is stale: run python -m kernel_arena.authoring.docs"
        )


def test_skill_front_matter():
    text = (DOCS / "SKILL.md").read_text()
    front = text.split("---")[1]
    assert re.search(r"^name: \S+", front, re.M) and re.search(r"^description: .+", front, re.M)


def _commands() -> list[str]:
    text = (DOCS / "SKILL.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)```", text, re.S)
    return [line for block in blocks for line in block.splitlines() if line.strip()]


@pytest.mark.slow
def test_every_command_in_the_playbook_runs(tmp_path):
    cmds = _commands()
    assert len(cmds) >= 8
    env = dict(os.environ)
    for cmd in cmds:
        argv = shlex.split(cmd)
        assert argv[0] == "kernel-arena", cmd
        r = subprocess.run(
            [sys.executable, "-m", "kernel_arena.cli", *argv[1:]],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            env=env,
            timeout=600,
        )
        assert r.returncode == 0, f"{cmd}\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
