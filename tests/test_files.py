"""File primitives: atomically written files get the mode a plain open() would give them (0666
less the umask), a replaced file keeps its mode, and a failed write names its file."""

from __future__ import annotations

import errno
import os

import pytest

from kernel_arena.files import append_jsonl, atomic_write_text


@pytest.fixture
def umask():
    def set_mask(mask: int) -> None:
        os.umask(mask)

    previous = os.umask(0o022)
    yield set_mask
    os.umask(previous)


@pytest.mark.parametrize(("mask", "mode"), [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_new_files_follow_the_umask(tmp_path, umask, mask, mode):
    umask(mask)
    atomic_write_text(tmp_path / "report.md", "x")
    append_jsonl(tmp_path / "traces.jsonl", [{"a": 1}])
    assert (tmp_path / "report.md").stat().st_mode & 0o777 == mode
    assert (tmp_path / "traces.jsonl").stat().st_mode & 0o777 == mode


def test_a_replaced_file_keeps_its_mode(tmp_path, umask):
    target = tmp_path / "kept.json"
    target.write_text("old")
    target.chmod(0o640)
    atomic_write_text(target, "new")
    assert target.read_text() == "new" and target.stat().st_mode & 0o777 == 0o640


def test_a_failed_write_names_its_file(tmp_path):
    import resource
    import signal

    previous_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (1024, hard))
    try:
        with pytest.raises(OSError) as raised:
            atomic_write_text(tmp_path / "big.json", "x" * 4096)
        with pytest.raises(OSError) as appended:
            append_jsonl(tmp_path / "big.jsonl", [{"x": "y" * 4096}])
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous_handler)
    assert raised.value.errno == errno.EFBIG and raised.value.filename == str(tmp_path / "big.json")
    assert appended.value.filename == str(tmp_path / "big.jsonl")
    assert [p.name for p in tmp_path.iterdir()] == ["big.jsonl"]  # no temporary file left behind
