"""The viewer's folder stays current without loading everything again: appended lines are read
alone (the traces already loaded stay the same objects), a torn last line is read once completed,
and only a rewritten trace file or a changed solution makes it load everything."""

from __future__ import annotations

import json
import os
import time

from helpers import GOOD_DPS, solution_json, write_json
from web.conftest import _trace, make_run

from kernel_arena.files import append_jsonl, write_jsonl
from kernel_arena.web import api
from kernel_arena.web.live import SOURCE_CHECK_INTERVAL_S, LiveDataset

TRACES = "traces/elementwise/scale_add_n.jsonl"


def test_appended_traces_are_read_alone(tmp_path):
    run = make_run(tmp_path, [_trace("fast", f"w{i}") for i in range(3)])
    live = LiveDataset(run)
    idx = live.current()
    first = idx.ds.traces[0]
    board = api.leaderboard_view(idx, "scale_add_n")
    assert api.leaderboard_view(idx, "scale_add_n") is board  # computed once per change
    append_jsonl(run / TRACES, [_trace("slow", "w0", latency=3.0), _trace("fast", "w0", latency=0.5)])
    idx = live.current()
    assert live.loads == 1 and idx.ds.traces[0] is first and len(idx.ds.traces) == 5
    assert idx.count("scale_add_n") == 5
    latest = {t.key[1:]: t.evaluation.performance.latency_ms for _, t in idx.latest("scale_add_n")}
    assert latest[("fast", "w0")] == 0.5 and latest[("slow", "w0")] == 3.0  # the latest wins
    board2 = api.leaderboard_view(idx, "scale_add_n")
    assert board2 is not board and [r["solution"] for r in board2["rows"]] == ["fast", "slow"]


def test_a_torn_line_is_read_once_completed(tmp_path):
    run = make_run(tmp_path, [_trace("fast", "w0")])
    live = LiveDataset(run)
    live.current()
    line = json.dumps(_trace("fast", "w1"))
    with open(run / TRACES, "ab") as f:
        f.write(line[:40].encode())  # a writer caught mid-line
    assert len(live.current().ds.traces) == 1
    with open(run / TRACES, "ab") as f:
        f.write(line[40:].encode() + b"\n")
    idx = live.current()
    assert [t.workload.uuid for t in idx.ds.traces] == ["w0", "w1"] and live.loads == 1


def test_a_rewritten_trace_file_or_a_new_solution_loads_everything(tmp_path):
    run = make_run(tmp_path, [_trace("fast", f"w{i}") for i in range(3)])
    live = LiveDataset(run)
    live.current()
    write_jsonl(run / TRACES, [_trace("fast", "w0", latency=7.0)])  # --force rewrites atomically
    idx = live.current()
    assert live.loads == 2 and [t.evaluation.performance.latency_ms for t in idx.ds.traces] == [7.0]
    write_json(run / "solutions" / "new.json", solution_json("new", GOOD_DPS))  # a run starts a Solution
    time.sleep(SOURCE_CHECK_INTERVAL_S + 0.1)
    idx = live.current()
    assert live.loads == 3 and "new" in idx.ds.solutions
    os.remove(run / TRACES)
    assert live.current().ds.traces == [] and live.loads == 4
