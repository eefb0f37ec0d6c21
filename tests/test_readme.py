"""The README tells a newcomer what the test command needs beyond pip: a Chromium for the
viewer's browser tests (skipped without one), and how to install it."""

from __future__ import annotations

from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_the_test_command_says_how_to_get_chromium():
    text = README.read_text()
    section = text[text.index("Run the tests:") : text.index("## The workflow")]
    assert ".venv/bin/python -m pytest" in section
    assert "sudo apt-get install chromium" in section
    assert "KERNEL_ARENA_CHROMIUM" in section and "skipped" in section


def test_skipped_browser_tests_are_named_in_the_summary(tmp_path):
    import os
    import subprocess
    import sys

    tests = Path(__file__).resolve().parent
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            str(tests / "web" / "test_browser.py"),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "KERNEL_ARENA_CHROMIUM": str(tmp_path / "no-chromium")},
        timeout=300,
    )
    assert r.returncode == 0, r.stdout[-2000:]
    assert "browser tests skipped: no Chromium at" in r.stdout
    assert "sudo apt-get install chromium" in r.stdout


def test_ci_runs_the_readme_test_command_and_then_the_slow_tests():
    """The README's command leaves the slow tests out; CI must still run them, after it."""
    text = README.read_text()
    section = text[text.index("Run the tests:") : text.index("## The workflow")]
    command = next(line for line in section.splitlines() if line.startswith("python3 -m venv"))
    ci = (README.parent / ".ci" / "run").read_text().splitlines()
    assert command in ci, "CI must run the README's test command exactly"
    assert ".venv/bin/python -m pytest -n auto -m slow" in ci[ci.index(command) + 1 :]
    assert "-m 'not slow'" in command
