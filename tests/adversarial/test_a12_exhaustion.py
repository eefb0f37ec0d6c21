"""A12 (exhaust the harness): huge stderr, a 20 GiB sparse stdout/stderr, a setsid daemon
(``exhaust`` group), and the run process killed (SIGKILL, SIGTERM) while a call hangs (own runs).

Reads of what the sandbox writes are bounded; the whole process tree of a sandbox dies with it,
daemons included; a sandbox dies with its judge (parent-death signal), however the judge dies.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from helpers import make_tiny_dataset, solution_json

from . import planted as P
from .conftest import (
    LOG_CAP,
    assert_status,
    kill_pid,
    kill_run_tree,
    log_of,
    process_alive,
    run_argv,
    start_time,
    wait_gone,
)

GROUPS_USED = ("exhaust",)


@pytest.fixture(scope="module")
def exhaust(planted):
    return planted.get("exhaust")


def test_a12_run_completes_and_honest_solution_passes(exhaust):
    assert not exhaust.timed_out, exhaust.describe()
    for trace in exhaust.of("z_honest"):
        assert_status(trace, "PASSED")


@pytest.mark.parametrize("name", ["a12_huge_stderr", "a12_sparse_log", "a12_daemon", "z_honest"])
def test_a12_every_log_is_bounded(exhaust, name):
    for trace in exhaust.of(name):
        assert len(log_of(trace).encode()) < LOG_CAP, f"{name}: log of {len(log_of(trace))} characters"


def test_a12_setsid_daemon_does_not_outlive_the_run(exhaust):
    pidfile = exhaust.witness / "daemon.pid"
    assert pidfile.is_file(), f"the planted daemon never started: {exhaust.describe()}"
    pid = int(pidfile.read_text())
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        cmdline = b""
    started = start_time(pid) if b"kernel-arena-planted-daemon-a12" in cmdline else None
    try:
        assert started is None or wait_gone(pid, started, 5), (
            f"the solution's setsid daemon (pid {pid}) outlived the run"
        )
    finally:
        if started is not None:
            kill_pid(pid, started)


def _hang_run(tmp_path):
    witness = tmp_path / "witness"
    witness.mkdir()
    code = P.render(P.HANG, witness=witness)
    root = make_tiny_dataset(tmp_path / "ds", [solution_json("a12_hang", code)], workloads=1)
    proc = subprocess.Popen(
        run_argv(root, tmp_path / "out"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    pidfile = witness / "sandbox.pid"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not pidfile.is_file() and proc.poll() is None:
        time.sleep(0.05)
    assert pidfile.is_file(), f"the hanging solution was never called (run rc {proc.poll()})"
    pid = int(pidfile.read_text())
    started = start_time(pid)
    assert started is not None and process_alive(pid, started)
    return proc, pid, started


def test_a12_kill_minus_9_of_the_run_takes_the_sandbox_down(tmp_path):
    proc, pid, started = _hang_run(tmp_path)
    try:
        os.kill(proc.pid, signal.SIGKILL)  # the leader only, not its group
        proc.wait(timeout=10)
        assert wait_gone(pid, started, 15), "the sandbox outlived its judge killed with SIGKILL"
    finally:
        kill_run_tree(proc, [(pid, started)])


@pytest.mark.slow
def test_a12_sigterm_stops_the_run_and_its_sandbox(tmp_path):
    proc, pid, started = _hang_run(tmp_path)
    try:
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pytest.fail("the run did not exit within 15 s of SIGTERM")
        assert code != 0, "the run exited 0 after SIGTERM"
        assert wait_gone(pid, started, 15), "the sandbox outlived its judge stopped with SIGTERM"
    finally:
        kill_run_tree(proc, [(pid, started)])
