"""The viewer's trace list says why every failure failed: the diagnosis, else the exception line
with its place or the crash signal (RUNTIME_ERROR and TIMEOUT rows had an empty column)."""

from __future__ import annotations

import json
import threading
import urllib.request

from helpers import hand_run, hand_trace

from kernel_arena.web.server import make_server

RAISED = (
    "draw 0: the solution raised:\nTraceback (most recent call last):\n"
    '  File "main.py", line 4, in run\n    sys.exit(3)\nSystemExit: 3\n'
    "--- solution output ---\nValueError: printed by the solution, not the reason\n"
)
CRASHED = "crash: the sandbox process died from SIGSEGV (exit code -11)\n--- solution output ---\nFatal"
TIMED_OUT = "timeout: no reply within 3 s; the sandbox was killed"


def test_every_failure_has_a_reason_in_the_trace_list(tmp_path):
    traces = [
        hand_trace("exits", "w0", "RUNTIME_ERROR", log=RAISED),
        hand_trace("crashes", "w0", "RUNTIME_ERROR", log=CRASHED),
        hand_trace("hangs", "w0", "TIMEOUT", log=TIMED_OUT),
        hand_trace("fine", "w0"),
    ]
    server = make_server(hand_run(tmp_path / "run", traces), "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/api/traces?definition=scale_add_n"
        with urllib.request.urlopen(url, timeout=10) as response:
            rows = {t["solution"]: t["diagnosis"] for t in json.loads(response.read())["traces"]}
    finally:
        server.shutdown()
        server.server_close()
    assert rows == {
        "exits": "SystemExit: 3 (main.py:4)",
        "crashes": "crash: the sandbox process died from SIGSEGV (exit code -11)",
        "hangs": TIMED_OUT,
        "fine": "",
    }
