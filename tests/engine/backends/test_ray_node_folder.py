"""The Ray backend's node folder stays bounded: a starting actor removes the folders of actors
that are gone and the caches of run folders unused for weeks (no cluster needed: the pruning is
plain file work)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from kernel_arena.engine.backends.ray_judge import OWNER_FILE, STALE_RUN_DAYS, prune_node_folder


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_gone_actors_and_stale_run_caches_are_removed(tmp_path):
    now = time.time()
    live = tmp_path / "actor-live"
    live.mkdir()
    (live / OWNER_FILE).write_text(f"{os.getpid()}\n")
    dead = tmp_path / "actor-dead"
    (dead / "builds").mkdir(parents=True)
    (dead / OWNER_FILE).write_text(f"{_dead_pid()}\n")
    old_unowned = tmp_path / "actor-old"
    old_unowned.mkdir()
    os.utime(old_unowned, (now - 2 * 86400, now - 2 * 86400))
    new_unowned = tmp_path / "actor-new"
    new_unowned.mkdir()
    fresh = tmp_path / "aaaa"
    (fresh / "reference").mkdir(parents=True)
    (fresh / "run-folder.txt").write_text("host:/runs/a\n")
    stale = tmp_path / "bbbb"
    (stale / "logs").mkdir(parents=True)
    (stale / "run-folder.txt").write_text("host:/runs/b\n")
    old = now - (STALE_RUN_DAYS + 1) * 86400
    os.utime(stale / "run-folder.txt", (old, old))
    unknown = tmp_path / "cccc"  # not ours (no run-folder.txt): left alone
    unknown.mkdir()

    removed = prune_node_folder(tmp_path, now=now)

    assert sorted(p.name for p in removed) == ["actor-dead", "actor-old", "bbbb"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["aaaa", "actor-live", "actor-new", "cccc"]


def test_a_missing_node_folder_is_no_error(tmp_path):
    assert prune_node_folder(tmp_path / "absent") == []
